#!/usr/bin/env bash
# Runs the test suite (installing what is missing first: the package, the user environment,
# configurable-http-proxy, the Kubernetes test cluster, and Debian's Chromium, PostgreSQL, bubblewrap and
# etcd) in two tiers (tests/tiers.py): the fast tier first, in seconds and inside pytest alone, so a broken
# unit stops the run before any service starts; then the real-stack tier against real processes. Each
# test runs once. Arguments go to both pytest runs.
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

times=()
run_tier() {  # name, marker expression, pytest arguments; prints the tier's time, returns pytest's status
    local name="$1" expression="$2" started=$SECONDS status=0
    shift 2
    pytest -m "$expression" "$@" || status=$?
    times+=("$name tier: $((SECONDS - started)) s")
    echo "${times[-1]}"
    [ "$status" = 5 ] && status=0  # the arguments select no test of this tier
    return "$status"
}
# --durations: the slowest tests, for keeping CI short
status=0
run_tier fast fast --durations=10 "$@" || status=$?
if [ "$status" != 0 ]; then
    echo "The fast tier failed: the real-stack tier was not run." >&2
    exit "$status"
fi
run_tier real-stack "not fast" --durations=25 "$@" || status=$?
printf '%s\n' "${times[@]}"
exit "$status"
