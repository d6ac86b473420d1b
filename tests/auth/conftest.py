"""Fixtures: the fake OIDC provider of tests/oidc, served from a thread, as the hub's real IdP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oidc"))

from fake_provider import FakeProvider

from tests.stack import Stack, make_stack

CLIENT_SECRET = "s3cret"


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeProvider]:
    """On its own thread, like a real IdP: the hub (or the test's own blocking calls) may wait."""
    provider = FakeProvider(client_secret=CLIENT_SECRET).serve_in_thread()
    yield provider
    provider.stop_thread()


@pytest.fixture(scope="module")
def idp_stack(idp: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole service (hub, proxy, JWT API) trusting the fake provider instead of the dev IdP."""
    service = make_stack(tmp_path_factory.mktemp("idp"), "fake-idp", sections={
        "oidc": {"issuer": idp.issuer, "client_secret": CLIENT_SECRET},
        "dev_idp": {"enabled": False},
    })
    service.start()
    yield service
    service.stop()


@pytest.fixture(autouse=True)
def well_behaved(idp: FakeProvider) -> Iterator[None]:
    """Every test starts with a provider that answers normally, whatever the last one did to it."""
    idp.behave()
    yield
