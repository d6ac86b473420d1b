"""The hub image's install steps, run where no container engine is: deploy/docker/install-hub.sh puts the
clean wheel with its Kubernetes extra into a fresh environment, pinned by the hub lock, and what the chart's
hub and our Deployments run from the image works there. (The user image's steps: test_wheel_labextension.)
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO, run_step

pytestmark = pytest.mark.real_stack  # builds a wheel, runs pip

HUB_LOCK = REPO / "environment" / "hub-requirements.txt"
INSTALL_HUB = REPO / "deploy" / "docker" / "install-hub.sh"
EXAMPLE = REPO / "deploy" / "examples" / "kubernetes.toml"


def locked_version(package: str) -> str:
    line = next(line for line in HUB_LOCK.read_text().splitlines() if line.startswith(f"{package}=="))
    return line.split("==", 1)[1]


def test_hub_image_steps_install_the_locked_service_that_the_chart_and_our_pods_run(
        clean_wheel: Path, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(HUB_LOCK, context / "hub-requirements.txt")
    shutil.copy(clean_wheel, context)
    venv = tmp_path / "hub"
    run_step("venv", [sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run_step("install-hub.sh", ["sh", INSTALL_HUB, context], env={**os.environ, "PYTHON": str(python)})

    versions = run_step("versions", [python, "-c", "import jupyterhub, kubespawner; "
                                     "print(jupyterhub.__version__, kubespawner.__version__)"])
    assert versions.stdout.split() == [locked_version("jupyterhub"), locked_version("jupyterhub-kubespawner")]
    # the command operators render with, from the image, gives what the repository's renders
    rendered = run_step("render", [venv / "bin" / "notebooks", "kubernetes", "values", "--config", EXAMPLE])
    here = run_step("render here", [sys.executable, "-m", "notebooks_service", "kubernetes", "values",
                                    "--config", EXAMPLE])
    assert rendered.stdout == here.stdout and "configure_kubernetes_hub(c)" in rendered.stdout
    # what our Deployments run (`python3 -m <module>`) is there with everything it imports
    modules = ("notebooks_service.services.jwt.main", "notebooks_service.tokens.release.app",
               "notebooks_service.services.credits.app")
    run_step("service modules", [python, "-c", "; ".join(f"import {module}" for module in modules)])
