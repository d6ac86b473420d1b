#!/usr/bin/env bash
# Runs the test suite against real processes (installing what is missing first: the package, the user
# environment, configurable-http-proxy, the Kubernetes test cluster, and Debian's Chromium, PostgreSQL,
# bubblewrap and etcd). Arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)               # browser tests
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)  # credits tests
command -v bwrap >/dev/null || missing+=(bubblewrap)                # user servers' sandboxes
command -v etcd >/dev/null || missing+=(etcd-server)                # tests/kubernetes' cluster
apt_pid=""
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "The tests need: sudo apt-get install ${missing[*]}" >&2; exit 1
    fi
    # one apt run, in the background while the Python environments are built
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
        >/dev/null) &
    apt_pid=$!
fi
NOTEBOOKS_APT_BY_CALLER=1 bash "$root/scripts/bootstrap.sh" test  # our apt run brings bubblewrap
if [ -n "$apt_pid" ] && ! wait "$apt_pid"; then
    echo "apt-get install ${missing[*]} failed" >&2; exit 1
fi
bash "$root/tests/kubernetes/cluster/build.sh" >/dev/null  # tests/kubernetes' cluster: built once, cached; says how long
export PATH="$root/.node/node_modules/.bin:$root/.venv/bin:$PATH"
cd "$root"
ruff check src tests benchmarks
exec pytest --durations=25 "$@"  # the slowest tests, for keeping CI short
