"""Item 1-3 of the token issue: the spawn choice, the files, the environment, background freshness."""

from __future__ import annotations

import os
import signal
import stat
import time

from tests.stack import Stack, stop_server, wait_until
from tests.tokens.conftest import (
    LIFETIME,
    Session,
    login,
    read_token,
    requests_by,
    server_environ,
    server_token_dir,
    spawn,
    token_dir,
    valid_for,
    verify_with_jwks,
)

SAMPLED_LIFETIMES = 5
"""How many token lifetimes the freshness test watches the files for: each must bring a new token."""

def test_token_is_not_mounted_by_default(token_stack: Stack, admin: Session) -> None:
    """`admin` never opts in in these tests (JupyterHub reuses a user's previous options otherwise)."""
    spawn(admin, mount=None)
    try:
        assert not token_dir(token_stack, "admin").exists()
        env = server_environ(admin, "admin")
        assert "OIDC_ACCESS_TOKEN_FILE" not in env
        assert "OIDC_ID_TOKEN_FILE" not in env
        model = admin.api.get("/users/admin").json()["servers"][""]
        assert model["user_options"].get("mount_access_token", False) is False
    finally:
        stop_server(admin.api, "admin")


def test_spawn_form_offers_the_choice_unchecked(token_stack: Stack) -> None:
    alice = login(token_stack, "alice")
    form = alice.browser.get(f"{token_stack.hub_url}/hub/spawn/alice").text
    assert 'name="mount_access_token"' in form
    assert "Mount my access token in this server" in form
    checkbox = form[form.index('name="mount_access_token"') - 80:form.index('name="mount_access_token"') + 40]
    assert "checked" not in checkbox


def test_option_must_be_a_boolean(token_stack: Stack) -> None:
    alice = login(token_stack, "alice")
    response = alice.api.post("/users/alice/server", json={"mount_access_token": "yes"})
    assert response.status_code in (400, 500), response.text
    wait_until(lambda: "mount_access_token must be true or false" in token_stack.log(), 30,
               what="the refusal in the hub log")
    wait_until(lambda: "" not in alice.api.get("/users/alice").json()["servers"], 30,
               what="the failed server to be gone")
    assert not token_dir(token_stack, "alice").exists()


def test_mounted_files_verify_and_stay_fresh_without_any_request(token_stack: Stack,
                                                                 admin: Session) -> None:
    bob = login(token_stack, "bob")
    spawn(bob, mount=True)
    directory = token_dir(token_stack, "bob")
    env = server_environ(admin, "bob")
    assert env["OIDC_ACCESS_TOKEN_FILE"] == f"{server_token_dir(token_stack, 'bob')}/access_token"
    assert env["OIDC_ID_TOKEN_FILE"] == f"{server_token_dir(token_stack, 'bob')}/id_token"
    assert not str(directory).startswith(str(token_stack.home("bob")))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ("access_token", "id_token"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    claims = verify_with_jwks(token_stack, (directory / "access_token").read_text())
    assert claims["preferred_username"] == "bob"
    assert claims["exp"] > time.time()
    id_claims = verify_with_jwks(token_stack, (directory / "id_token").read_text()) \
        if valid_for(token_stack, (directory / "id_token").read_text()) > 0 else None
    assert id_claims is None or id_claims["sub"] == "bob"
    assert env["GCUBE_TOKEN"].count(".") == 2, "the operator's env token mapping applies"

    offset = len(token_stack.log())
    seen: set[str] = set()
    worst = float(LIFETIME)
    deadline = time.monotonic() + SAMPLED_LIFETIMES * LIFETIME
    while time.monotonic() < deadline:
        token = read_token(directory / "access_token")
        assert token, "the token file disappeared while the server runs"
        remaining = valid_for(token_stack, token)
        assert remaining > 0, "the file held an expired token"
        worst = min(worst, remaining)
        seen.add(token)
        time.sleep(0.25)
    assert requests_by(token_stack, "bob", offset) == [], "bob made no request during sampling"
    assert len(seen) >= SAMPLED_LIFETIMES, f"only {len(seen)} tokens in {SAMPLED_LIFETIMES} lifetimes"
    print(f"\nfreshness: {len(seen)} tokens over {SAMPLED_LIFETIMES * LIFETIME}s, "
          f"worst remaining validity {worst:.2f}s")

    stop_server(bob.api, "bob")
    assert not directory.exists(), "stopping the server removes its token files"


def test_files_are_replaced_atomically(token_stack: Stack) -> None:
    """A reader never sees a partial token: complete files only ever appear by rename."""
    dave = login(token_stack, "dave")
    spawn(dave, mount=True)
    directory = token_dir(token_stack, "dave")
    try:
        deadline = time.monotonic() + 2 * LIFETIME
        while time.monotonic() < deadline:
            for name in ("access_token", "id_token"):
                content = read_token(directory / name)
                assert content and content.count(".") == 2 and not content.endswith("\n")
    finally:
        stop_server(dave.api, "dave")


def test_a_server_that_dies_loses_its_files_and_the_next_start_gets_them_at_once(
        token_stack: Stack, admin: Session) -> None:
    """The hub calls `stop` only for a running server: a crashed one is cleaned up when polled."""
    dave = login(token_stack, "dave")
    spawn(dave, mount=True)
    directory = token_dir(token_stack, "dave")
    pid = admin.api.get("/users/dave").json()["servers"][""]["state"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not directory.exists(), 90, what="the hub's poll to notice the dead server")
    wait_until(lambda: "" not in admin.api.get("/users/dave").json()["servers"], 30,
               what="the hub to record the server as stopped")
    try:
        spawn(dave, mount=True)
        token = read_token(directory / "access_token")  # written before the server started
        assert token and valid_for(token_stack, token) > 0
    finally:
        stop_server(dave.api, "dave")
