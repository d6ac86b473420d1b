#!/usr/bin/env bash
# Builds the user environment (.venv-user/) that user servers run from: the lock
# environment/requirements.txt, then this repo's package (server and lab extensions) on top, constrained by
# the lock. Only redoes what changed: the lock, or what the package's install copies.
# Takes about 2 minutes on a fresh 2-core machine (see docs/user-guide.md, "The environment").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_dir="${NOTEBOOKS_USER_ENV:-$root/.venv-user}"
lock="$root/environment/requirements.txt"
python="${PYTHON:-python3}"
uv="$env_dir/bin/uv"

if [ ! -x "$env_dir/bin/python" ]; then
    "$python" -m venv "$env_dir"
fi
if [ ! -x "$uv" ]; then
    "$env_dir/bin/python" -m pip install --quiet "$(grep '^uv==' "$lock")"
fi
if [ ! -f "$env_dir/.locked" ] || [ "$lock" -nt "$env_dir/.locked" ]; then
    rm -f "$env_dir/.built"
    "$uv" pip install --quiet --python "$env_dir/bin/python" -r "$lock"
    touch "$env_dir/.locked"
fi
# what an editable install copies rather than links: metadata, the server config, the built lab extension
copied=("$root/pyproject.toml" "$root"/jupyter-config/*/*.json
        "$root/src/notebooks_service/labextension/static/package.json")
stale=0
[ -f "$env_dir/.built" ] || stale=1
for file in "${copied[@]}"; do
    if [ -f "$file" ] && [ "$file" -nt "$env_dir/.built" ]; then stale=1; fi
done
if [ "$stale" = 1 ]; then
    "$uv" pip install --quiet --python "$env_dir/bin/python" -c "$lock" --reinstall-package notebooks-service \
        -e "$root"
    touch "$env_dir/.built"
fi
