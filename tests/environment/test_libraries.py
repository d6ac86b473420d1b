"""docs/libraries.md is what the user environment really contains."""

from __future__ import annotations

import subprocess
from importlib.metadata import Distribution
from pathlib import Path

import pytest

from notebooks_service.environment.libraries import Library, libraries, render
from tests.environment.conftest import USER_ENV, user_env_built
from tests.stack import REPO


class FakeDistribution(Distribution):
    def __init__(self, name: str, version: str, summary: str) -> None:
        self._text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"

    def read_text(self, filename: str) -> str | None:
        return self._text if filename == "METADATA" else None

    def locate_file(self, path: str | Path) -> Path:
        raise NotImplementedError


def test_entries_sorted_unique_and_escaped() -> None:
    dists = [FakeDistribution("Zeta_Lib", "1.0", "z | pipes"), FakeDistribution("alpha", "2.0", "a\n  b"),
             FakeDistribution("zeta-lib", "0.9", "shadowed"), FakeDistribution("notebooks-service", "0", ""),
             FakeDistribution("pip", "23", "")]
    assert libraries(dists) == [Library("alpha", "2.0", "a b"), Library("Zeta_Lib", "1.0", "z \\| pipes")]
    assert render(libraries(dists)).endswith("| alpha | 2.0 | a b |\n| Zeta_Lib | 1.0 | z \\| pipes |\n")


@pytest.mark.real_stack  # runs the user environment's Python
def test_document_is_current(tmp_path: Path) -> None:
    user_env_built()
    fresh = tmp_path / "libraries.md"
    subprocess.run([str(USER_ENV / "bin" / "python"), "-m", "notebooks_service.environment.libraries",
                    str(fresh)], check=True, timeout=120)
    committed = (REPO / "docs" / "libraries.md").read_text()
    assert committed == fresh.read_text(), "docs/libraries.md is stale: run bash scripts/libraries.sh"
    for name in ("jupyterlab", "elyra", "jupyter-collaboration", "nbgitpuller", "numpy", "fedcloudclient"):
        assert f"| {name} | " in committed
