"""Introspector against the fake provider's RFC 7662 endpoint."""

from __future__ import annotations

import time

import httpx
import pytest
from fake_provider import FakeProvider

from notebooks_service.oidc import (
    Introspector,
    InvalidToken,
    ProviderMetadata,
    ProviderUnavailable,
    discover_async,
)


async def make(p: FakeProvider, secret: str | None = None) -> Introspector:
    meta = await discover_async(p.issuer)
    return Introspector(meta, p.client_id, secret or p.client_secret, http=httpx.AsyncClient())


async def test_active_token(provider: FakeProvider) -> None:
    i = await make(provider)
    result = await i.introspect(provider.opaque_token())
    assert result["active"] is True and result["preferred_username"] == "alice"


async def test_inactive_and_unknown_tokens(provider: FakeProvider) -> None:
    i = await make(provider)
    with pytest.raises(InvalidToken, match="not active"):
        await i.introspect(provider.opaque_token(active=False))
    with pytest.raises(InvalidToken, match="not active"):
        await i.introspect("never-issued")


async def test_expired_or_foreign_answer(provider: FakeProvider) -> None:
    i = await make(provider)
    with pytest.raises(InvalidToken, match="expired"):
        await i.introspect(provider.opaque_token(exp=int(time.time()) - 5))
    with pytest.raises(InvalidToken, match="issuer"):
        await i.introspect(provider.opaque_token(iss="https://evil.example.org"))


@pytest.mark.parametrize("kind", ["Bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token"])
async def test_access_token_types_accepted(provider: FakeProvider, kind: str) -> None:
    i = await make(provider)
    assert (await i.introspect(provider.opaque_token(token_type=kind)))["active"] is True


@pytest.mark.parametrize("kind", ["refresh_token", "Refresh", "id_token"])
async def test_other_token_types_refused(provider: FakeProvider, kind: str) -> None:
    """An IdP answers `active` for its refresh tokens too: they must not work as bearer tokens."""
    i = await make(provider)
    with pytest.raises(InvalidToken, match="not an access token"):
        await i.introspect(provider.opaque_token(token_type=kind))


async def test_garbage_never_sent(provider: FakeProvider) -> None:
    i = await make(provider)
    for bad in ["", "é" * 10, "x" * 20000]:
        with pytest.raises(InvalidToken):
            await i.introspect(bad)
    assert provider.hits["introspect"] == 0


async def test_bad_client_credentials_are_unavailable(provider: FakeProvider) -> None:
    i = await make(provider, secret="wrong")
    with pytest.raises(ProviderUnavailable):
        await i.introspect(provider.opaque_token())


async def test_provider_down(provider: FakeProvider) -> None:
    i = await make(provider)
    token = provider.opaque_token()
    await provider.shutdown()
    with pytest.raises(ProviderUnavailable):
        await i.introspect(token)


def test_requires_endpoint() -> None:
    with pytest.raises(ValueError):
        Introspector(ProviderMetadata("i", "a", "t", "j"), "c", "s")
