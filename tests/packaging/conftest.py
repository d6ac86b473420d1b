"""What the packaging tests share: timed steps, uv, and one wheel built from a clean clone of HEAD."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
BUILD_OUTPUT = Path("src/notebooks_service/labextension/static")


def run_step(step: str, command: list[str | Path], *, env: dict[str, str] | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run one step, log its duration, and fail with its output (the only clue when a build breaks)."""
    started = time.monotonic()
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, env=env,
                            timeout=timeout, check=False)
    log.info("%s: %.1f s", step, time.monotonic() - started)
    assert result.returncode == 0, f"{step} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def uv() -> Path:
    """uv from the hub's environment (the test extra) or, failing that, from the user environment."""
    for candidate in (Path(sys.executable).parent / "uv", REPO / ".venv-user" / "bin" / "uv"):
        if candidate.exists():
            return candidate
    found = shutil.which("uv")
    assert found, "uv is needed: bash scripts/bootstrap.sh test"
    return Path(found)


@pytest.fixture(scope="session")
def clean_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel` builds from the committed HEAD cloned afresh: no built extension, no
    node_modules, so only the build itself can put the lab extension in."""
    root = tmp_path_factory.mktemp("wheel")
    checkout = root / "checkout"
    run_step("clone of HEAD", ["git", "clone", "--quiet", "--depth=1", f"file://{REPO}", checkout])
    assert not (checkout / BUILD_OUTPUT).exists()
    assert not (checkout / "labextension" / "node_modules").exists()
    dist = root / "dist"
    run_step("pip wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", dist, checkout])
    [wheel] = dist.glob("notebooks_service-*.whl")
    return wheel
