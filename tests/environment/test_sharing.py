"""A user shares a running server with a collaborator (by name or with a share code) and revokes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.environment.sharing import accept_share_code, server_status, wait_for_status
from tests.stack import Stack, browser_login, hub_api, hub_token, start_server, stop_server


@dataclass
class Pair:
    """alice with a running server, and bob logged in (browser session and API token)."""

    alice: httpx.Client
    bob_browser: httpx.Client
    bob_api: httpx.Client
    bob_token_client: httpx.Client


@pytest.fixture
def pair(stack: Stack) -> Iterator[Pair]:
    alice_browser, _ = browser_login(stack, "alice")
    alice = hub_api(stack, hub_token(alice_browser, stack, "alice"))
    bob_browser, _ = browser_login(stack, "bob")
    bob_token = hub_token(bob_browser, stack, "bob")
    start_server(alice, "alice")
    yield Pair(alice, bob_browser, hub_api(stack, bob_token),
               httpx.Client(timeout=30, headers={"Authorization": f"token {bob_token}"}))
    alice.delete("/shares/alice/")
    alice.delete("/share-codes/alice/")
    stop_server(alice, "alice")


def test_share_with_user_then_revoke(stack: Stack, pair: Pair) -> None:
    assert server_status(pair.bob_token_client, stack, "alice") == 403
    assert server_status(pair.bob_browser, stack, "alice") == 403

    granted = pair.alice.post("/shares/alice/", json={"user": "bob"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["user"]["name"] == "bob"
    wait_for_status(pair.bob_token_client, stack, "alice", 200)  # the server cached its earlier answer
    assert server_status(pair.bob_browser, stack, "alice") == 200
    shared = pair.bob_api.get("/users/bob/shared").json()["items"]
    assert [s["server"]["user"]["name"] for s in shared] == ["alice"]

    revoked = pair.alice.patch("/shares/alice/", json={"user": "bob"})
    assert revoked.status_code == 200, revoked.text
    assert pair.bob_api.get("/users/bob/shared").json()["items"] == []
    wait_for_status(pair.bob_token_client, stack, "alice", 403)
    wait_for_status(pair.bob_browser, stack, "alice", 403)


def test_share_code_accepted_then_revoked(stack: Stack, pair: Pair) -> None:
    created = pair.alice.post("/share-codes/alice/", json={"expires_in": 600})
    assert created.status_code == 200, created.text
    assert server_status(pair.bob_browser, stack, "alice") == 403

    accepted = accept_share_code(pair.bob_browser, stack, created.json()["accept_url"])
    assert accepted.status_code == 200
    assert accepted.url.path == "/hub/api/oauth2/authorize"  # the server asks bob to confirm who he is
    assert server_status(pair.bob_browser, stack, "alice") == 200
    assert pair.alice.get("/share-codes/alice/").json()["items"][0]["exchange_count"] == 1

    assert pair.alice.delete("/shares/alice/").status_code == 204
    wait_for_status(pair.bob_browser, stack, "alice", 403)


def test_collaborator_cannot_reshare(stack: Stack, pair: Pair) -> None:
    assert pair.alice.post("/shares/alice/", json={"user": "bob"}).status_code == 200
    # the hub answers 404, not 403, so that bob cannot probe which servers exist
    assert pair.bob_api.post("/shares/alice/", json={"user": "admin"}).status_code == 404
    assert pair.bob_api.post("/share-codes/alice/").status_code == 404
    shares = pair.alice.get("/shares/alice/").json()["items"]
    assert [s["user"]["name"] for s in shares] == ["bob"]
    assert pair.alice.get("/share-codes/alice/").json()["items"] == []
