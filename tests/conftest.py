"""Fixtures starting the real service once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.credits.postgres import PostgresServer, running_postgres
from tests.stack import Stack, make_stack
from tests.tiers import (
    FAST,
    MARKERS,
    REAL_STACK,
    TIERS,
    classify,
    no_new_processes,
    one_default_tls_context,
)

if TYPE_CHECKING:  # imported when a browser starts: the fast tier never loads playwright
    from playwright.sync_api import Browser

DEMO_USERS = [
    {"username": "alice", "email": "alice@example.org", "name": "Alice", "groups": ["researchers"]},
    {"username": "bob", "email": "bob@example.org", "name": "Bob", "groups": ["researchers"]},
    {"username": "admin", "email": "admin@example.org", "name": "Admin", "groups": ["admins"]},
    {"username": "carol", "email": "carol@example.org", "name": "Carol", "groups": ["visitors"]},
]


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (never a downloaded browser), one per test module."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: apt-get install chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave files for people to look at (screenshots)."""
    path = Path(__file__).resolve().parents[1] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole service with the demo users plus `carol`, who is in no allowed group."""
    service = make_stack(tmp_path_factory.mktemp("stack"), "main", users=DEMO_USERS)
    service.start()
    yield service
    service.stop()


_GUARD = pytest.StashKey[ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tiers are set before `-m` deselects anything, so `-m fast` and `-m "not fast"` see them."""
    config.stash[TIERS] = classify(items)


def pytest_report_collectionfinish(config: pytest.Config) -> str:
    tiers = config.stash.get(TIERS, {})
    return (f"tiers: {len(tiers.get(FAST, []))} {FAST}, {len(tiers.get(REAL_STACK, []))} {REAL_STACK} "
            f"(tests/tiers.py; pytest -m {FAST} runs the fast tier alone)")


def pytest_collection_finish(session: pytest.Session) -> None:
    """When only fast tests run, no process may start until the session ends: a test filed in the
    wrong tier fails with its name instead of quietly slowing the fast tier down. Its httpx clients
    also share one TLS context (see `one_default_tls_context`)."""
    if session.items and all(item.get_closest_marker(FAST) for item in session.items):
        guard = ExitStack()
        guard.enter_context(no_new_processes())
        guard.enter_context(one_default_tls_context())
        session.config.stash[_GUARD] = guard


def pytest_sessionfinish(session: pytest.Session) -> None:
    guard = session.config.stash.get(_GUARD, None)
    if guard is not None:
        guard.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (credits ledgers, zones sharing one ledger)."""
    with running_postgres("credits-pg-") as server:
        yield server
