#!/usr/bin/env bash
# Re-resolves the hub's own environment (.venv/): the package's dependencies and its extras `test` and
# `kubernetes` (pyproject.toml) -> environment/hub-requirements.txt, pinned for Python 3.11 on Linux.
# The user lock is a constraint, so a package both environments hold has the same version in both (the
# hub and the user servers run the same JupyterHub). Run it after changing pyproject's dependencies;
# scripts/lock-user-env.sh runs it after the user lock. `bash scripts/bootstrap.sh` then installs it.
# Arguments go to `uv pip compile` (e.g. --upgrade-package pytest).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
uv="$(command -v uv || true)"
for candidate in "$root/.venv/bin/uv" "$root/.venv-user/bin/uv"; do
    if [ -z "$uv" ] && [ -x "$candidate" ]; then uv="$candidate"; fi
done
[ -n "$uv" ] || { echo "uv is needed: run scripts/bootstrap.sh first, or pip install uv" >&2; exit 1; }
cd "$root"
"$uv" pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --no-emit-package notebooks-service --custom-compile-command "bash scripts/lock-hub-env.sh" \
    --extra test --extra kubernetes --constraint environment/requirements.txt \
    pyproject.toml -o environment/hub-requirements.txt "$@"
