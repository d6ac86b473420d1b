"""Every call the hub makes to a silent IdP ends within `idp_timeout`, with a clear answer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fake_provider import FakeProvider
from tornado import web

from notebooks_service.auth.authenticator import NotebooksAuthenticator, RefreshUnavailable
from notebooks_service.oidc.verify import ProviderUnavailable
from tests.auth.test_admission_and_refresh import Callback, User, authenticator

TIMEOUT = 1.0


def impatient(idp: FakeProvider, **traits: Any) -> NotebooksAuthenticator:
    # an operator's own request options (here a user agent) must not drop the timeouts
    return authenticator(idp, idp_timeout=TIMEOUT, http_request_kwargs={"user_agent": "hub"},
                         **traits)


async def test_silent_token_endpoint(idp: FakeProvider) -> None:
    auth = impatient(idp)
    await auth.discovered()
    idp.silent = True
    start = time.monotonic()
    with pytest.raises(web.HTTPError) as failed:
        await auth.get_authenticated_user(Callback(idp), None)
    assert time.monotonic() - start < TIMEOUT + 1
    assert failed.value.status_code == 503
    assert "is not responding" in failed.value.jupyterhub_message


async def test_silent_discovery_for_a_bearer_login(idp: FakeProvider) -> None:
    auth = impatient(idp)
    idp.silent = True
    start = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        await auth.bearer_claims(idp.token())
    assert time.monotonic() - start < TIMEOUT + 1


async def test_silent_keys_at_login(idp: FakeProvider) -> None:
    auth = impatient(idp)
    await auth.discovered()
    token_info = idp.issue({})  # what the token endpoint answered; the keys are not fetched yet
    idp.silent = True
    start = time.monotonic()
    with pytest.raises(web.HTTPError) as failed:
        await auth.token_to_user(token_info)
    assert time.monotonic() - start < TIMEOUT + 1
    assert failed.value.status_code == 503


async def test_silent_refresh_keeps_the_tokens(idp: FakeProvider) -> None:
    auth = impatient(idp)
    model = await auth.get_authenticated_user(Callback(idp), None)
    user = User("alice", model["auth_state"])
    idp.silent = True
    start = time.monotonic()
    with pytest.raises(RefreshUnavailable, match="not responding"):
        await auth.refresh_tokens(user, force=True)
    assert time.monotonic() - start < TIMEOUT + 1
    assert user.auth_state is model["auth_state"]


async def test_concurrent_requests_wait_for_one_silent_refresh_not_one_each(idp: FakeProvider
                                                                            ) -> None:
    """Requests of a user arriving while a refresh waits for a silent IdP share its outcome."""
    auth = impatient(idp)
    model = await auth.get_authenticated_user(Callback(idp), None)
    user = User("alice", model["auth_state"])
    idp.silent = True
    start = time.monotonic()
    outcomes = await asyncio.gather(*(auth.refresh_tokens(user, force=True) for _ in range(3)),
                                    return_exceptions=True)
    assert time.monotonic() - start < TIMEOUT + 1
    assert all(isinstance(o, RefreshUnavailable) for o in outcomes)
    start = time.monotonic()
    with pytest.raises(RefreshUnavailable):
        await auth.refresh_tokens(user, force=True)
    assert time.monotonic() - start >= TIMEOUT * 0.9, "a later call asks the IdP again"
