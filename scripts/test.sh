#!/usr/bin/env bash
# Runs the test suite against real processes (installing what is missing first, Chromium included).
# Arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh" test
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "Chromium is required for the browser tests: sudo apt-get install chromium" >&2; exit 1
    fi
fi
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "PostgreSQL is required for the credits tests: sudo apt-get install postgresql" >&2; exit 1
    fi
fi
export PATH="$root/.node/node_modules/.bin:$root/.venv/bin:$PATH"
cd "$root"
ruff check src tests benchmarks
exec pytest "$@"
