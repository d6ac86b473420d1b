"""The hub refreshes a user's short-lived access token with the refresh token, and survives refusal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import DEMO_USERS
from tests.stack import (
    Stack,
    browser_login,
    hub_api,
    hub_token,
    make_stack,
    start_server,
    stop_server,
    verify_with_jwks,
    wait_until,
)

LIFETIME = 6


@pytest.fixture(scope="module")
def short_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A service whose IdP issues access and ID tokens valid for a few seconds only."""
    service = make_stack(tmp_path_factory.mktemp("short"), "short", sections={
        "service": {"auth_refresh_age": 1},
        "dev_idp": {"access_token_lifetime": LIFETIME, "id_token_lifetime": LIFETIME},
    }, users=DEMO_USERS)
    service.start()
    yield service
    service.stop()


def auth_state(admin: httpx.Client, username: str) -> dict:
    return admin.get(f"/users/{username}", params={"include_stopped_servers": "1"}
                     ).json()["auth_state"]


def test_expired_access_token_is_replaced_using_the_refresh_token(short_stack: Stack) -> None:
    admin_client, _ = browser_login(short_stack, "admin")
    admin = hub_api(short_stack, hub_token(admin_client, short_stack, "admin"))
    alice, _ = browser_login(short_stack, "alice")
    first = auth_state(admin, "alice")
    assert verify_with_jwks(short_stack, first["access_token"])["preferred_username"] == "alice"

    time.sleep(LIFETIME + 1)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_with_jwks(short_stack, first["access_token"])
    assert alice.get(f"{short_stack.hub_url}/hub/home").status_code == 200

    second = auth_state(admin, "alice")
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"], "refresh tokens rotate"
    claims = verify_with_jwks(short_stack, second["access_token"])
    assert claims["exp"] > time.time()
    assert claims["eduperson_entitlement"] == ["researchers"]


def test_refused_refresh_asks_for_login_and_keeps_the_server(short_stack: Stack,
                                                             tmp_path: Path) -> None:
    admin_client, _ = browser_login(short_stack, "admin")
    admin = hub_api(short_stack, hub_token(admin_client, short_stack, "admin"))
    bob, _ = browser_login(short_stack, "bob")
    bob_api = hub_api(short_stack, hub_token(bob, short_stack, "bob"))
    start_server(bob_api, "bob")

    secret = (short_stack.data_dir / "secrets" / "hub_client_secret").read_text().strip()
    refresh_token = auth_state(admin, "bob")["refresh_token"]
    revoked = httpx.post(f"{short_stack.issuer}/revoke", auth=("notebooks-hub", secret),
                         data={"token": refresh_token, "token_type_hint": "refresh_token"})
    assert revoked.status_code == 200
    time.sleep(LIFETIME + 1)

    page = bob.get(f"{short_stack.hub_url}/hub/home", follow_redirects=False)
    assert page.status_code == 302
    assert "/hub/login" in page.headers["location"]
    server = wait_until(lambda: admin.get("/users/bob").json()["servers"].get(""), 10,
                        what="bob's server entry")
    assert server["ready"], "a refused token refresh must not stop the user's server"
    stop_server(admin, "bob")
