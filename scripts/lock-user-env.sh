#!/usr/bin/env bash
# Re-resolves the user environment: environment/requirements.in (+ the package's own dependencies from
# pyproject.toml) -> environment/requirements.txt, pinned for Python 3.11 on Linux. Run it after changing
# requirements.in or the package's dependencies; then `bash scripts/bootstrap.sh` rebuilds .venv-user.
# The hub's lock follows (scripts/lock-hub-env.sh): packages in both keep the same versions.
# Arguments go to `uv pip compile` (e.g. --upgrade-package jupyterlab).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
uv="$(command -v uv || echo "$root/.venv-user/bin/uv")"
[ -x "$uv" ] || { echo "uv is needed: run scripts/bootstrap.sh first, or pip install uv" >&2; exit 1; }
cd "$root"
"$uv" pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --no-emit-package notebooks-service --custom-compile-command "bash scripts/lock-user-env.sh" \
    environment/requirements.in pyproject.toml -o environment/requirements.txt "$@"
bash "$root/scripts/lock-hub-env.sh"
