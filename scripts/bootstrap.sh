#!/usr/bin/env bash
# Installs what the service needs, once: a Python virtual environment with the package (pinned by the hub
# lock), the user servers' environment (.venv-user/) and configurable-http-proxy from npm. Safe to run
# again; it only adds what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
extras="${1:-}"
if [ ! -x "$root/.venv/bin/python" ]; then
    "$python" -m venv "$root/.venv"
    "$root/.venv/bin/python" -m pip install --quiet --upgrade pip
fi
# The lab extension is built by the package's own build (the jupyter-builder hook in pyproject.toml), here
# by the editable install. When its sources changed since the last build, drop the build: the install
# then rebuilds it (and copies it into the venv). Users of the wheel never need npm.
lab="$root/labextension"
lab_build="$root/src/notebooks_service/labextension/static"
if [ -f "$lab_build/package.json" ] && [ -n "$(find "$lab/src" "$lab/style" "$lab/package.json" \
        "$lab/package-lock.json" "$lab/tsconfig.json" -newer "$lab_build/package.json" -print -quit)" ]; then
    rm -rf "$lab_build"
fi
if [ ! -f "$lab_build/package.json" ] && ! command -v npm >/dev/null; then
    echo "npm is required to build the lab extension (apt-get install nodejs npm)" >&2; exit 1
fi
# the hub's own environment, pinned by its lock (environment/hub-requirements.txt, scripts/lock-hub-env.sh)
hub_lock="$root/environment/hub-requirements.txt"
stamp="$root/.venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ] || [ "$hub_lock" -nt "$stamp" ] \
        || [ ! -f "$lab_build/package.json" ]; then
    "$root/.venv/bin/python" -m pip install --quiet --constraint "$hub_lock" -e "$root${extras:+[$extras]}"
    touch "$stamp"
fi
if [ "$(id -u)" = 0 ] && [ -z "${NOTEBOOKS_APT_BY_CALLER:-}" ] && ! command -v bwrap >/dev/null; then
    # run as root the service sandboxes every user's server (docs/isolation.md)
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
fi
bash "$root/environment/build.sh"  # the user servers' own environment, .venv-user/
if [ ! -x "$root/.node/node_modules/.bin/configurable-http-proxy" ]; then
    command -v npm >/dev/null || { echo "npm is required (apt-get install nodejs npm)" >&2; exit 1; }
    npm install --silent --no-fund --no-audit --prefix "$root/.node" configurable-http-proxy@5
fi
