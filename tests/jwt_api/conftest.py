"""Fixtures for the JWT service: fake providers (shared with tests/oidc) and a fake hub."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oidc"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_hub import SERVICE_TOKEN, FakeHub
from fake_provider import FakeProvider
from jwt_harness import Running, oidc_section

from notebooks_service.oidc.discovery import discover_async
from notebooks_service.services.jwt.service import JwtService
from notebooks_service.services.jwt.settings import ServiceKnobs, Settings


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    p = FakeProvider().start()
    yield p
    p.stop()


@pytest.fixture
async def other_provider() -> AsyncIterator[FakeProvider]:
    p = FakeProvider().start()
    yield p
    p.stop()


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    hub = FakeHub().start()
    yield hub
    hub.stop()


@pytest.fixture
async def running(provider: FakeProvider, fake_hub: FakeHub) -> AsyncIterator[Running]:
    settings = Settings(
        oidc=oidc_section(provider), api_token=SERVICE_TOKEN, api_url=fake_hub.api_url,
        prefix="/services/jwt/", bind_host="127.0.0.1", bind_port=0,
        knobs=ServiceKnobs(min_jwks_refetch_interval=0.5, introspection_cache_seconds=1.0),
    )
    fake_hub.claims_of = provider.claims_of
    service = await JwtService.create(settings, await discover_async(provider.issuer))
    port = await service.listen()
    yield Running(service, fake_hub, provider, f"http://127.0.0.1:{port}/services/jwt")
    await service.close()
