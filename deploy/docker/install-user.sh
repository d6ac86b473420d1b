#!/bin/sh
# Installs the user servers' environment into the virtual environment $VIRTUAL_ENV, every package pinned
# by the user lock. Dockerfile runs it in two steps (third-party packages first: they change far less
# often than ours, so that image layer is reused); tests/packaging/test_images.py runs the same script
# in a fresh virtual environment, since no container engine runs on the test machines.
# Caches follow the environment (the Dockerfile turns them off with PIP_NO_CACHE_DIR and UV_NO_CACHE).
#   usage: install-user.sh locked DIR    the lock DIR/requirements.txt
#          install-user.sh package DIR   the one notebooks_service-*.whl in DIR, constrained by the lock
set -eu
step="$1"
dir="$2"
python="$VIRTUAL_ENV/bin/python"
lock="$dir/requirements.txt"
case "$step" in
    locked)
        "$python" -m pip install "$(grep '^uv==' "$lock")"
        "$VIRTUAL_ENV/bin/uv" pip install --python "$python" -r "$lock"
        ;;
    package)
        set -- "$dir"/notebooks_service-*.whl
        [ "$#" -eq 1 ] && [ -f "$1" ] || { echo "install-user.sh: expected one notebooks_service wheel in $dir" >&2; exit 2; }
        "$VIRTUAL_ENV/bin/uv" pip install --python "$python" -c "$lock" "$1"
        ;;
    *)
        echo "install-user.sh: the step is 'locked' or 'package', not '$step'" >&2
        exit 2
        ;;
esac
