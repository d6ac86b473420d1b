"""Fixtures starting the real service once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.stack import Stack, make_stack

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
