#!/usr/bin/env bash
# Builds (or reuses) the test cluster's kube-apiserver and kube-controller-manager and makes sure etcd and
# bubblewrap are installed. The binaries are cached in ~/.cache/notebooks-service/kube/<version>-<hash>/,
# keyed by the pinned release and a hash of go.mod, go.sum, the main packages and this script, so only
# the first run on a machine compiles (about 9 minutes and 2.6 GB on 2 cores). Prints the directory last.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=$SECONDS

missing=()
command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || missing+=(etcd-server)
command -v bwrap >/dev/null || missing+=(bubblewrap)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "The Kubernetes tests need: sudo apt-get install ${missing[*]}" >&2; exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$go" ] || { echo "Building the test cluster needs the Go toolchain (1.24+)" >&2; exit 1; }
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")
hash=$(cd "$here" && cat go.mod go.sum kube-*/main.go internal/*/*.go build.sh | sha256sum | cut -c1-12)
out="${XDG_CACHE_HOME:-$HOME/.cache}/notebooks-service/kube/$version-$hash"

if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kube-controller-manager" ]; then
    echo "Building kube-apiserver and kube-controller-manager $version (cold: about 9 minutes)" >&2
    major=${version#v}; major=${major%%.*}
    minor=${version#v*.}; minor=${minor%%.*}
    released=$(cd "$here" && "$go" list -m -f '{{.Time.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
    pkg=k8s.io/component-base/version
    ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$released -X $pkg.gitCommit=module-$version"
    tmp="$out.tmp.$$"
    mkdir -p "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    for cmd in kube-apiserver kube-controller-manager; do
        (cd "$here" && CGO_ENABLED=0 "$go" build -trimpath -ldflags "$ldflags" -o "$tmp/$cmd" "./$cmd")
    done
    rm -rf "$out" && mv "$tmp" "$out"
    echo "Built the test cluster in $((SECONDS - started)) s" >&2
else
    echo "Reusing the test cluster binaries in $out ($((SECONDS - started)) s)" >&2
fi
echo "$out"
