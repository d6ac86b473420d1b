"""A wheel built from a clean checkout ships the JupyterLab extension (issue 15, item 6).

The extension's build output is git-ignored, so only the wheel build itself (the jupyter-builder hook in
pyproject.toml) can put it in the wheel. The test therefore starts from the committed HEAD cloned into a
temporary directory, with no built extension and no node_modules, builds the wheel the way a user would
(`pip wheel`), installs it into a fresh venv by the user image's own install script (the user lock's
packages, then the wheel constrained by the lock), and asks that venv's own JupyterLab whether the
extension is there and loads.

It is slow, because npm installs the extension's build dependencies into the clean checkout. Measured on
a 2-core machine with warm npm and uv caches: 35-48 s in all when idle (clone 0.5 s, `pip wheel` 27-35 s,
venv and install 3-5 s, `jupyter labextension list` 5-7 s), 62 s beside other work; the log says how long
each step took. Before the build hook the same wheel built in 2 s and held no extension at all.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO, run_step

log = logging.getLogger(__name__)

pytestmark = pytest.mark.real_stack  # runs git, pip, npm, uv and jupyter (tests/tiers.py)

USER_LOCK = REPO / "environment" / "requirements.txt"
INSTALL_USER = REPO / "deploy" / "docker" / "install-user.sh"
EXTENSION = "@notebooks-service/access-token"
DATA = f"share/jupyter/labextensions/{EXTENSION}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _listed(output: str, data_dir: Path) -> list[str]:
    """The extension lines `jupyter labextension list` prints under one data directory's heading."""
    lines: list[str] = []
    current = None
    for line in output.splitlines():
        if line and not line[0].isspace():
            current = line.strip()
        elif current == str(data_dir) and line.strip():
            lines.append(line.strip())
    return lines


def test_wheel_from_clean_checkout_lists_the_lab_extension(clean_wheel: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    with zipfile.ZipFile(clean_wheel) as archive:
        names = archive.namelist()
    data = [name.split(f"/data/{DATA}/", 1)[1] for name in names if f"/data/{DATA}/" in name]
    assert "package.json" in data and "install.json" in data, data
    assert any(re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", name) for name in data), data

    # the user image's own install steps (deploy/docker/install-user.sh), the lock's packages first
    venv = install_user_image_steps(clean_wheel, tmp_path)

    # only the fresh venv's own data directories: no JUPYTER_* from the caller, a home of its own
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env.update(HOME=str(tmp_path / "home"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    listing = run_step("labextension list", [venv / "bin" / "jupyter", "labextension", "list"], env=env)
    output = ANSI.sub("", listing.stdout + listing.stderr)  # it colours "enabled" and "OK"
    data_dir = venv / "share" / "jupyter" / "labextensions"
    ours = [line for line in _listed(output, data_dir) if line.startswith(f"{EXTENSION} ")]
    assert ours, f"{EXTENSION} is not listed under {data_dir}:\n{output}"
    assert re.fullmatch(rf"{re.escape(EXTENSION)} v\S+ enabled OK \(python, notebooks-service\)",
                        ours[0]), output
    log.info("whole test: %.1f s", time.monotonic() - started)


def install_user_image_steps(wheel: Path, tmp_path: Path) -> Path:
    """A fresh venv holding what deploy/docker/Dockerfile installs, by the same script."""
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(USER_LOCK, context / "requirements.txt")
    shutil.copy(wheel, context)
    venv = tmp_path / "venv"
    run_step("venv", [sys.executable, "-m", "venv", venv])
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    for step in ("locked", "package"):
        run_step(f"install-user.sh {step}", ["sh", INSTALL_USER, step, context], env=env)
    return venv
