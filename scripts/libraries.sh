#!/usr/bin/env bash
# Regenerates docs/libraries.md from the user environment (.venv-user/, built by scripts/bootstrap.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/.venv-user/bin/python" -m notebooks_service.environment.libraries "$root/docs/libraries.md"
