#!/usr/bin/env bash
# Runs the test suite against real processes (installing what is missing first: the package, the user
# environment, configurable-http-proxy, and Debian's Chromium and PostgreSQL). Arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)               # browser tests
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)  # credits tests
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
bash "$root/scripts/bootstrap.sh" test
if [ -n "$apt_pid" ] && ! wait "$apt_pid"; then
    echo "apt-get install ${missing[*]} failed" >&2; exit 1
fi
bash "$root/tests/kubernetes/cluster/build.sh" >/dev/null  # tests/kubernetes' cluster: built once, cached; says how long
export PATH="$root/.node/node_modules/.bin:$root/.venv/bin:$PATH"
cd "$root"
ruff check src tests benchmarks
exec pytest "$@"
