#!/bin/sh
# Installs the service's wheel with its Kubernetes extra into a Python environment, every dependency
# pinned by the hub lock (environment/hub-requirements.txt). Dockerfile.hub runs it in the chart's hub
# image; tests/packaging/test_images.py runs the same script in a fresh virtual environment, since no
# container engine runs on the test machines.
# Caches follow the environment (Dockerfile.hub turns pip's off with PIP_NO_CACHE_DIR).
#   usage: install-hub.sh DIR   (DIR holds hub-requirements.txt and one notebooks_service-*.whl)
set -eu
dir="$1"
python="${PYTHON:-python3}"
set -- "$dir"/notebooks_service-*.whl
[ "$#" -eq 1 ] && [ -f "$1" ] || { echo "install-hub.sh: expected one notebooks_service wheel in $dir" >&2; exit 2; }
"$python" -m pip install --constraint "$dir/hub-requirements.txt" "$1[kubernetes]"
"$python" -c "import notebooks_service.kubernetes.hubconf, kubespawner"  # the chart's extraConfig imports it
