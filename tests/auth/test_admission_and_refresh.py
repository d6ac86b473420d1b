"""The authenticator's own rules against a real (loopback) OIDC provider: who is admitted, under which
name, and which refresh failures end a session's tokens."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fake_provider import FakeProvider
from tornado import web

from notebooks_service.auth.authenticator import (
    NotebooksAuthenticator,
    RefreshRefused,
    RefreshUnavailable,
)
from tests.auth.conftest import CLIENT_SECRET


def authenticator(idp: FakeProvider, **traits: Any) -> NotebooksAuthenticator:
    """Configured as `hub/config.py` configures the hub's authenticator."""
    return NotebooksAuthenticator(
        issuer=idp.issuer, client_id="notebooks-hub", client_secret=CLIENT_SECRET,
        oauth_callback_url="http://127.0.0.1:9/hub/oauth_callback", enable_pkce=False,
        username_claim="preferred_username", allowed_groups={"researchers", "admins"},
        admin_groups={"admins"}, **traits)


class Callback:
    """The part of the hub's callback handler oauthenticator reads: the code in the URL."""

    def __init__(self, idp: FakeProvider, **claims: Any) -> None:
        self.code = secrets.token_urlsafe(16)
        idp._codes[self.code] = claims

    def get_argument(self, name: str, default: Any = None) -> Any:
        return self.code if name == "code" else default


class User:
    """What the authenticator's refresh reads and writes of a hub user."""

    def __init__(self, name: str, auth_state: dict[str, Any]) -> None:
        self.name, self.auth_state = name, auth_state

    async def get_auth_state(self) -> dict[str, Any]:
        return self.auth_state

    async def save_auth_state(self, auth_state: dict[str, Any]) -> None:
        self.auth_state = auth_state


CAROL = {"sub": "sub-carol", "preferred_username": "carol", "eduperson_entitlement": ["visitors"]}


async def test_allowed_users_admits_a_user_outside_the_allowed_groups(idp: FakeProvider
                                                                      ) -> None:
    auth = authenticator(idp, allowed_users={"carol"})
    model = await auth.get_authenticated_user(Callback(idp, **CAROL), None)
    assert model is not None and model["name"] == "carol"
    dave = {**CAROL, "sub": "sub-dave", "preferred_username": "dave"}
    with pytest.raises(web.HTTPError) as refused:
        await auth.get_authenticated_user(Callback(idp, **dave), None)
    assert refused.value.status_code == 403
    assert "not allowed to use this service" in refused.value.jupyterhub_message


async def test_callable_username_claim_names_browser_and_bearer_logins_alike(
        idp: FakeProvider) -> None:
    """An IdP without preferred_username; the hub names users by a function of the claims."""
    auth = authenticator(idp)
    auth.username_claim = lambda claims: claims["email"].split("@")[0]
    claims = {"sub": "sub-x", "preferred_username": None, "email": "xavier@example.org",
              "eduperson_entitlement": ["researchers"]}
    model = await auth.get_authenticated_user(Callback(idp, **claims), None)
    assert model is not None and model["name"] == "xavier"
    # the bearer-login endpoint's rule, for the same person's access token
    bearer = await auth.bearer_claims(idp.token(**claims, aud="https://api.example.org"))
    admission = auth.admit(bearer.claims)
    assert (admission.username, admission.allowed) == ("xavier", True)


async def test_a_function_that_fails_on_the_claims_gives_a_clear_403(idp: FakeProvider
                                                                     ) -> None:
    auth = authenticator(idp)
    auth.username_claim = lambda claims: claims["email"]
    with pytest.raises(web.HTTPError) as refused:
        await auth.get_authenticated_user(Callback(idp, sub="sub-y"), None)
    assert refused.value.status_code == 403
    assert "did not say who you are" in refused.value.jupyterhub_message


IDP_FAULTS = {
    "bad gateway page": (502, "<html>Bad Gateway</html>"),
    "server error": (500, '{"error": "server_error"}'),
    "rate limited": (429, '{"error": "slow_down"}'),
    "not json": (200, "<html>maintenance</html>"),
    "no access token": (200, '{"token_type": "Bearer"}'),
}


async def test_only_a_refusal_ends_the_tokens_of_a_session(idp: FakeProvider) -> None:
    """An IdP fault or an unreadable answer keeps the tokens (retry later); invalid_grant ends them."""
    auth = authenticator(idp)
    model = await auth.get_authenticated_user(Callback(idp), None)
    user = User("alice", model["auth_state"])
    kept = user.auth_state
    outcomes = {}
    for name, failure in IDP_FAULTS.items():
        idp.token_failure = failure
        try:
            await auth.refresh_tokens(user, force=True)
            outcomes[name] = "refreshed"
        except (RefreshRefused, RefreshUnavailable) as exc:
            outcomes[name] = type(exc).__name__
    assert outcomes == dict.fromkeys(IDP_FAULTS, "RefreshUnavailable")
    assert user.auth_state is kept

    idp.token_failure = None
    refreshed = await auth.refresh_tokens(user, force=True)
    assert refreshed is not None and user.auth_state["access_token"] != kept["access_token"]

    idp.token_failure = (400, '{"error": "invalid_grant"}')
    with pytest.raises(RefreshRefused, match="invalid_grant"):
        await auth.refresh_tokens(user, force=True)


async def test_userinfo_can_be_skipped(idp: FakeProvider) -> None:
    auth = authenticator(idp, use_userinfo=False)
    asked = idp.hits.get("userinfo", 0)
    model = await auth.get_authenticated_user(Callback(idp), None)
    assert model is not None and model["name"] == "alice" and model["groups"] == ["researchers"]
    assert idp.hits.get("userinfo", 0) == asked


async def test_refresh_without_id_token_while_userinfo_refuses_keeps_the_login(
        idp: FakeProvider) -> None:
    """Nothing new says who the user is: the refreshed session keeps the login's verified claims."""
    idp.userinfo_status = 401
    idp.id_token_on_refresh = False
    auth = authenticator(idp)
    model = await auth.get_authenticated_user(Callback(idp), None)
    user = User("alice", model["auth_state"])
    refreshed = await auth.refresh_tokens(user, force=True)
    assert refreshed is not None
    assert (refreshed["name"], refreshed["groups"]) == ("alice", ["researchers"])
    assert user.auth_state["id_token"] == model["auth_state"]["id_token"]
