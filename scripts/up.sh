#!/usr/bin/env bash
# Runs the whole service on this machine (installing what is missing first). Arguments go to `notebooks up`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
export PATH="$root/.node/node_modules/.bin:$root/.venv/bin:$PATH"
exec notebooks up "$@"
