"""The suite's tiers (tests/tiers.py): how a test is filed, the guard that catches a misfiled one, and the
promise that the fast tier never imports playwright."""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from tests.tiers import (
    FAST,
    REAL_STACK,
    TESTS,
    TIERS,
    ProcessInFastTier,
    no_new_processes,
    tier,
)


def test_a_test_is_filed_by_the_fixtures_it_uses() -> None:
    assert tier([], marked_real_stack=False) == FAST
    assert tier([("conftest.py::stack", None)], marked_real_stack=False) == REAL_STACK
    assert tier([("conftest.py::browser", None)], marked_real_stack=False) == REAL_STACK
    assert tier([("kubernetes/conftest.py::cluster", None)], marked_real_stack=False) == REAL_STACK
    # tests/auth's `idp` is the in-process fake provider; tests/idp's is the development IdP's process
    assert tier([("auth/conftest.py::idp", None)], marked_real_stack=False) == FAST
    assert tier([("idp/conftest.py::idp", None)], marked_real_stack=False) == REAL_STACK
    # the ledger tests run once on SQLite (a file) and once on a PostgreSQL server
    assert tier([("credits/conftest.py::ledger_url", "sqlite")], marked_real_stack=False) == FAST
    assert tier([("credits/conftest.py::ledger_url", "postgresql")], marked_real_stack=False) == REAL_STACK
    assert tier([("oidc/conftest.py::provider", None)], marked_real_stack=True) == REAL_STACK


def test_every_collected_test_has_exactly_one_tier(request: pytest.FixtureRequest) -> None:
    tiers = request.config.stash[TIERS]
    fast, real = {item.nodeid for item in tiers[FAST]}, {item.nodeid for item in tiers[REAL_STACK]}
    assert request.node.nodeid in fast
    assert not fast & real
    for item in tiers[FAST] + tiers[REAL_STACK]:
        marks = {mark.name for mark in item.iter_markers() if mark.name in (FAST, REAL_STACK)}
        assert len(marks) == 1, (item.nodeid, marks)
    # whatever else was collected with this test: users of the service or of a browser are real-stack
    starters = {item.nodeid for item in tiers[FAST] + tiers[REAL_STACK]
                if {"stack", "browser", "token_stack", "cluster"} & set(item.fixturenames)}
    assert starters <= real


def test_the_guard_refuses_every_way_of_starting_a_process() -> None:
    """Checked without starting anything: inside the block each call fails before a process exists."""
    originals = (subprocess._fork_exec, os.fork, os.posix_spawn, os.system)  # type: ignore[attr-defined]

    async def asyncio_child() -> None:
        await asyncio.create_subprocess_exec("true")

    with no_new_processes():
        for attempt in (lambda: subprocess.run(["true"], check=False), lambda: os.system("true"),
                        os.fork, lambda: asyncio.run(asyncio_child()),
                        lambda: os.posix_spawn("/bin/true", ["true"], {})):
            with pytest.raises(ProcessInFastTier, match=r"mark the test @pytest\.mark\.real_stack"):
                attempt()
    assert (subprocess._fork_exec, os.fork, os.posix_spawn, os.system) == originals  # type: ignore[attr-defined]


class _NoPlaywright(importlib.abc.MetaPathFinder):
    """Fails any import of playwright, naming the module that asked for it."""

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
                  ) -> None:
        if name == "playwright" or name.startswith("playwright."):
            raise ImportError(f"{name} imported")
        return None


def _ours_or_playwright(name: str, module: ModuleType | None) -> bool:
    if name == "playwright" or name.startswith("playwright."):
        return True
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file).resolve().is_relative_to(TESTS)


@contextmanager
def fresh_test_modules() -> Iterator[None]:
    """Forget every module of the suite and playwright for the block, so importing a test module runs all
    its imports again; the original modules are put back after. Third-party modules stay loaded (some
    compiled ones cannot be initialised twice in a process)."""
    saved = {name: module for name, module in sys.modules.items() if _ours_or_playwright(name, module)}
    for name in saved:
        del sys.modules[name]
    blocker = _NoPlaywright()
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        sys.meta_path.remove(blocker)
        for name, module in list(sys.modules.items()):
            if _ours_or_playwright(name, module):
                del sys.modules[name]
        sys.modules.update(saved)


def conftests_of(module: Path) -> list[Path]:
    """The conftest.py files pytest loads before `module`, outermost first."""
    return [directory / "conftest.py" for directory in reversed(module.parents)
            if directory.is_relative_to(TESTS) and (directory / "conftest.py").exists()]


def test_fast_modules_do_not_import_playwright(request: pytest.FixtureRequest) -> None:
    """Every module holding fast tests, and the conftests above it, imports cleanly while playwright
    cannot be imported at all: only browser tests pay for it (and need it installed)."""
    modules = sorted({Path(str(item.path)) for item in request.config.stash[TIERS][FAST]})
    files = list(dict.fromkeys(path for module in modules for path in [*conftests_of(module), module]))
    failures: dict[str, str] = {}
    with fresh_test_modules():
        for number, path in enumerate(files):
            spec = importlib.util.spec_from_file_location(f"_tier_check_{number}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # as an import would: dataclasses look their module up
            try:
                spec.loader.exec_module(module)
            except ImportError as error:
                failures[str(path.relative_to(TESTS))] = str(error)
        leaked = sorted(name for name in sys.modules if name.split(".")[0] == "playwright")
    assert failures == {}
    assert leaked == []
    assert Path(__file__).resolve() in [path.resolve() for path in files]
