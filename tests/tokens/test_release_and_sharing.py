"""Items 4 and 6: only the owner's unshared server gets the token; sharing withdraws and revokes it."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from tests.stack import Stack, stop_server, wait_until
from tests.tokens.conftest import (
    LIFETIME,
    Session,
    introspect,
    login,
    read_token,
    server_environ,
    server_token_dir,
    spawn,
    token_dir,
    valid_for,
    verify_with_jwks,
)

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def release_url(stack: Stack, owner: str) -> str:
    return f"{stack.hub_url}/services/tokens/api/token/{owner}"


def ask_service(stack: Stack, owner: str, token: str) -> httpx.Response:
    return httpx.get(release_url(stack, owner), headers={"Authorization": f"token {token}"}, timeout=30)


def ask_panel(stack: Stack, session: Session, owner: str) -> httpx.Response:
    """The lab panel's call, with `session`'s browser cookies (logging into the server first)."""
    page = session.browser.get(f"{stack.hub_url}/user/{owner}/lab")  # HTML: does the OAuth dance
    if "/oauth2/authorize" in str(page.url):  # a collaborator confirms access to someone else's server
        fields: dict[str, list[str]] = {}
        for name, value in _HIDDEN.findall(page.text):
            fields.setdefault(name, []).append(unescape(value))
        session.browser.post(str(page.url), data=fields)
    return session.browser.get(f"{stack.hub_url}/user/{owner}/notebooks-token/token")


@pytest.fixture(scope="module")
def alice(token_stack: Stack) -> Session:
    session = login(token_stack, "alice")
    spawn(session, mount=True)
    yield session
    stop_server(session.api, "alice")
    assert not token_dir(token_stack, "alice").exists(), "stopping removes the files"


@pytest.fixture(scope="module")
def bob(token_stack: Stack) -> Session:
    session = login(token_stack, "bob")
    spawn(session, mount=None)
    yield session
    stop_server(session.api, "bob")


def test_owner_gets_the_token_through_the_panel_endpoint(token_stack: Stack, alice: Session) -> None:
    response = ask_panel(token_stack, alice, "alice")
    assert response.status_code == 200, response.text
    body = response.json()
    assert verify_with_jwks(token_stack, body["access_token"])["preferred_username"] == "alice"
    assert body["expires_at"] > 0
    settings = alice.browser.get(f"{token_stack.hub_url}/user/alice/notebooks-token/settings").json()
    assert settings["mounted"] is True
    assert settings["token_dir"] == server_token_dir(token_stack, "alice")


def test_release_service_decisions(token_stack: Stack, admin: Session, alice: Session, bob: Session) -> None:
    alice_server_token = server_environ(admin, "alice")["JUPYTERHUB_API_TOKEN"]
    bob_server_token = server_environ(admin, "bob")["JUPYTERHUB_API_TOKEN"]
    cases = [
        # (number, caller's token, owner asked for, expected status, expected words in the reason)
        (1, alice_server_token, "alice", 200, ""),
        (2, alice.token, "alice", 403, "server's own token"),
        (3, bob_server_token, "alice", 403, "only alice's own server"),
        (4, bob.token, "alice", 403, "only alice's own server"),
        (5, "forged-" + alice_server_token[7:], "alice", 403, "not a valid hub token"),
        (6, admin.token, "alice", 403, "only alice's own server"),
    ]
    for number, token, owner, status, words in cases:
        response = ask_service(token_stack, owner, token)
        assert response.status_code == status, (number, response.text)
        assert words in response.json().get("reason", ""), (number, response.text)
    assert httpx.get(release_url(token_stack, "alice")).status_code == 401


def test_another_user_cannot_use_the_owners_panel(token_stack: Stack, alice: Session, bob: Session) -> None:
    response = ask_panel(token_stack, bob, "alice")
    assert response.status_code in (403, 404), response.text
    assert "access_token" not in response.text


def test_sharing_withdraws_revokes_and_refuses(token_stack: Stack, admin: Session, alice: Session,
                                               bob: Session) -> None:
    directory = token_dir(token_stack, "alice")
    exposed = read_token(directory / "access_token")
    assert exposed and valid_for(token_stack, exposed) > 0
    alice_server_token = server_environ(admin, "alice")["JUPYTERHUB_API_TOKEN"]

    shared = alice.api.post("/shares/alice/", json={"user": "bob"})
    assert shared.status_code == 200, shared.text
    wait_until(lambda: not directory.exists(), 3, interval=0.1, what="the files to be removed at once")
    wait_until(lambda: introspect(token_stack, exposed)["active"] is False, 10,
               what="the exposed token to be revoked at the IdP")

    owner = ask_panel(token_stack, alice, "alice")
    assert owner.status_code == 403 and "shared" in owner.json()["message"], owner.text
    collaborator = ask_panel(token_stack, bob, "alice")
    assert collaborator.status_code == 403, collaborator.text
    assert "only the owner" in collaborator.json()["message"]
    stolen = ask_service(token_stack, "alice", alice_server_token)
    assert stolen.status_code == 403 and "shared" in stolen.json()["reason"], stolen.text
    current = admin.api.get("/users/alice").json()["auth_state"]["access_token"]
    assert current != exposed and introspect(token_stack, current)["active"], \
        "the hub holds a new, unexposed token for alice"
    wait_until(lambda: not directory.exists(), 1)
    assert not directory.exists(), "no delivery while shared"

    assert alice.api.delete("/shares/alice/").status_code in (200, 204)
    resumed = wait_until(lambda: read_token(directory / "access_token"), 3 * LIFETIME,
                         what="mounting to resume after the last share is gone")
    assert resumed != exposed and valid_for(token_stack, resumed) > 0
    again = ask_service(token_stack, "alice", alice_server_token)
    assert again.status_code == 403 and "restart it" in again.json()["reason"], \
        "a server token seen by collaborators never gets the token again"


def test_share_code_also_withdraws(token_stack: Stack, admin: Session) -> None:
    dave = login(token_stack, "dave")
    spawn(dave, mount=True)
    directory = token_dir(token_stack, "dave")
    exposed = read_token(directory / "access_token")
    assert exposed
    code = dave.api.post("/share-codes/dave/", json={})
    assert code.status_code == 200, code.text
    wait_until(lambda: not directory.exists(), 3, interval=0.1, what="the files to be removed")
    wait_until(lambda: introspect(token_stack, exposed)["active"] is False, 10, what="revocation")
    server_token = server_environ(admin, "dave")["JUPYTERHUB_API_TOKEN"]
    assert ask_service(token_stack, "dave", server_token).status_code == 403
    revoked = dave.api.delete("/share-codes/dave/")  # dave's later servers are his own again
    assert revoked.status_code == 204, revoked.text
    stop_server(dave.api, "dave")
