#!/usr/bin/env bash
# Builds the "Access token" JupyterLab extension into the package (src/notebooks_service/labextension/
# static, shipped in the wheel) and installs it into the venv, only when its sources changed.
# Needs npm; users installing the wheel never do. Takes about 30 s with an empty npm cache.
set -euo pipefail
lab="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$lab")"
out="$root/src/notebooks_service/labextension/static/package.json"
if [ -f "$out" ] && [ -z "$(find "$lab/src" "$lab/style" "$lab/package.json" "$lab/tsconfig.json" \
        -newer "$out" -print -quit)" ]; then
    exit 0
fi
command -v npm >/dev/null || { echo "npm is required to build the lab extension (apt-get install nodejs npm)" >&2; exit 1; }
npm ci --silent --no-fund --no-audit --prefix "$lab"
staging="$("$root/.venv/bin/python" -c 'import jupyterlab, pathlib; print(pathlib.Path(jupyterlab.__file__).parent / "staging")')"
(cd "$lab" && ./node_modules/.bin/tsc && ./node_modules/.bin/build-labextension --core-path "$staging" .)
"$root/.venv/bin/python" -m pip install --quiet --no-deps -e "$root"
