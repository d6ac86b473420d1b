"""The background refresher when the IdP is down, when it refuses, and after a hub restart."""

from __future__ import annotations

import os
import signal
import time

import httpx

from tests.stack import Stack, stop_server, wait_until
from tests.tokens.conftest import (
    LIFETIME,
    Session,
    hub_client_auth,
    login,
    read_token,
    spawn,
    token_dir,
    valid_for,
)


def test_idp_down_keeps_the_last_token_and_recovers(token_stack: Stack) -> None:
    """The IdP process is killed (connections refused) while the launcher is paused, then restarted."""
    alice = login(token_stack, "alice")
    spawn(alice, mount=True)
    path = token_dir(token_stack, "alice") / "access_token"
    launcher = token_stack.process
    assert launcher is not None
    launcher.send_signal(signal.SIGSTOP)  # so that it does not restart the IdP at once
    try:
        os.kill(token_stack.pids()["development identity provider"], signal.SIGKILL)
        wait_until(lambda: "IdP unreachable refreshing the token for alice" in token_stack.log(),
                   2 * LIFETIME, what="a failed refresh")
        last = read_token(path)
        assert last, "while the IdP is down the last token stays in place"
        time.sleep(LIFETIME)
        assert read_token(path) == last
        assert "attempt 2" in token_stack.log(), "the refresher retries with backoff"
    finally:
        launcher.send_signal(signal.SIGCONT)
    recovered = wait_until(lambda: (t := read_token(path)) and t != last and valid_for(token_stack, t) > 0,
                           60, what="a fresh token after the IdP came back")
    assert recovered
    stop_server(alice.api, "alice")


def test_refused_refresh_removes_files_and_keeps_the_server(token_stack: Stack, admin: Session) -> None:
    bob = login(token_stack, "bob")
    spawn(bob, mount=True)
    directory = token_dir(token_stack, "bob")
    assert (directory / "access_token").exists()
    refresh_token = admin.api.get("/users/bob").json()["auth_state"]["refresh_token"]
    revoked = httpx.post(f"{token_stack.issuer}/revoke", auth=hub_client_auth(token_stack),
                         data={"token": refresh_token, "token_type_hint": "refresh_token"})
    assert revoked.status_code == 200
    wait_until(lambda: not directory.exists(), 3 * LIFETIME, what="the files to be removed")
    assert "Removed the token files of bob" in token_stack.log()
    time.sleep(2)
    server = admin.api.get("/users/bob").json()["servers"][""]
    assert server["ready"], "a refused refresh must not stop the server"
    assert httpx.get(f"{token_stack.hub_url}/user/bob/api/status",
                     headers={"Authorization": f"token {bob.token}"}).status_code == 200
    stop_server(admin.api, "bob")


def test_refresh_resumes_after_a_hub_restart(token_stack: Stack) -> None:
    dave = login(token_stack, "dave")
    spawn(dave, mount=True)
    path = token_dir(token_stack, "dave") / "access_token"
    hub = token_stack.pids()["JupyterHub"]
    os.kill(hub, signal.SIGKILL)
    wait_until(lambda: token_stack.pids().get("JupyterHub") not in (None, hub), 120,
               what="the launcher to restart the hub")
    wait_until(lambda: dave.api.get("/").status_code == 200, 120, what="the hub API")
    assert (dave.api.get("/users/dave").json()["servers"].get("") or {}).get("ready")
    deadline = time.monotonic() + 3 * LIFETIME
    seen = set()
    while time.monotonic() < deadline:
        token = read_token(path)
        assert token and valid_for(token_stack, token) > 0, "expired token after the hub restart"
        seen.add(token)
        time.sleep(0.5)
    assert len(seen) >= 3, "the restarted hub keeps refreshing the running server's token"
    stop_server(dave.api, "dave")
