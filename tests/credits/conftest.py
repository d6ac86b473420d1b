"""Credits fixtures: ledgers and stacks on SQLite and on a real PostgreSQL server, and Chromium."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from notebooks_service.services.credits.ledger import Ledger
from tests.credits.postgres import PostgresServer
from tests.credits.stack_config import USERS, credits_sections
from tests.stack import Stack, make_stack, wait_until

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'credits.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"credits_{next(_databases)}")


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def credits_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Stack]:
    """The whole service with credits on, once with the SQLite ledger and once with PostgreSQL."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"stack_{next(_databases)}")
    service = make_stack(tmp_path_factory.mktemp("credits"), f"credits-{request.param}",
                         sections=credits_sections(url), users=USERS)
    service.start()
    try:
        wait_until(lambda: httpx.get(f"{service.hub_url}/services/credits/api/status").status_code == 403,
                   60, what="the credits service to answer")
    except AssertionError as exc:
        service.stop()
        raise AssertionError(f"{exc}; the end of the service's log:\n{service.log()[-6000:]}") from None
    yield service
    service.stop()
