"""Discovery against a real loopback HTTP server."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fake_provider import FakeProvider

from notebooks_service.oidc import DiscoveryError, discover, discover_async
from notebooks_service.oidc.discovery import parse_metadata


async def test_discover_async_reads_endpoints(provider: FakeProvider) -> None:
    meta = await discover_async(provider.issuer)
    assert meta.issuer == provider.issuer
    assert meta.jwks_uri == f"{provider.issuer}/jwks"
    assert meta.introspection_endpoint == f"{provider.issuer}/introspect"
    assert meta.end_session_endpoint is None


async def test_discover_async_with_shared_client_and_trailing_slash(provider: FakeProvider) -> None:
    async with httpx.AsyncClient() as client:
        meta = await discover_async(provider.issuer + "/", client=client)
    assert meta.issuer == provider.issuer


async def test_discover_sync(provider: FakeProvider) -> None:
    # the sync client blocks, so run it off the loop that serves the provider
    meta = await asyncio.to_thread(discover, provider.issuer)
    assert meta.token_endpoint == f"{provider.issuer}/token"


async def test_unreachable_issuer_names_url() -> None:
    with pytest.raises(DiscoveryError, match=r"http://127\.0\.0\.1:1/x/\.well-known"):
        await discover_async("http://127.0.0.1:1/x", timeout=2)


async def test_http_error_status(provider: FakeProvider) -> None:
    with pytest.raises(DiscoveryError, match="HTTP 404"):
        await discover_async(provider.issuer + "/nope")


def test_issuer_mismatch_rejected() -> None:
    doc = {"issuer": "https://evil.example.org", "authorization_endpoint": "a",
           "token_endpoint": "t", "jwks_uri": "j"}
    with pytest.raises(DiscoveryError, match="does not match"):
        parse_metadata("https://good.example.org", "u", doc)


def test_missing_fields_rejected() -> None:
    with pytest.raises(DiscoveryError, match="lacks token_endpoint, jwks_uri"):
        parse_metadata("https://i", "u", {"issuer": "https://i", "authorization_endpoint": "a"})
    with pytest.raises(DiscoveryError, match="not a JSON object"):
        parse_metadata("https://i", "u", ["x"])


def test_error_message_is_one_line() -> None:
    with pytest.raises(DiscoveryError) as info:
        parse_metadata("https://i", "https://i/.well-known/openid-configuration", {})
    assert "\n" not in str(info.value)
