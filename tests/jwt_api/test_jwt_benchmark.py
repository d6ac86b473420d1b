"""The benchmark's CI smoke run: it starts its own stack, measures both paths and prints a ratio."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.stack import REPO, command_env


@pytest.mark.real_stack  # the benchmark starts its own stack
def test_benchmark_short_run_prints_a_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "jwt_throughput.py"), "--short"],
        capture_output=True, text=True, timeout=600, env=command_env(), cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^ratio jwt/direct: \d+\.\d{3} ", result.stdout, re.M), result.stdout
    assert re.search(r"^jwt /services/jwt .* errors 0$", result.stdout, re.M), result.stdout
