"""A demo user logs in through the IdP's form, gets a server with a persistent home, across restarts."""

from __future__ import annotations

import os
import signal

import httpx

from tests.stack import (
    Stack,
    browser_login,
    hub_api,
    hub_token,
    start_server,
    stop_server,
    wait_until,
)


def test_login_spawn_lab_stop(stack: Stack) -> None:
    client, landing = browser_login(stack, "alice")
    assert landing.status_code == 200
    assert str(landing.url).startswith(f"{stack.hub_url}/hub/")
    api = hub_api(stack, hub_token(client, stack, "alice"))
    me = api.get("/user").json()
    assert me["name"] == "alice"
    assert me["admin"] is False
    assert me["groups"] == ["researchers"]

    start_server(api, "alice")
    lab = client.get(f"{stack.hub_url}/user/alice/lab")
    assert lab.status_code == 200
    assert "JupyterLab" in lab.text
    assert str(lab.url).startswith(f"{stack.hub_url}/user/alice/lab")
    stop_server(api, "alice")
    assert client.get(f"{stack.hub_url}/user/alice/api/status",
                      follow_redirects=False).status_code != 200


def _contents(stack: Stack, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{stack.hub_url}/user/bob/api/contents", timeout=30,
                        headers={"Authorization": f"token {token}"})


def _restart_hub_by_crash(stack: Stack, api: httpx.Client) -> None:
    hub_pid = stack.pids()["JupyterHub"]
    os.kill(hub_pid, signal.SIGKILL)

    def hub_back() -> bool:
        try:
            return stack.pids()["JupyterHub"] != hub_pid and api.get("/").status_code == 200
        except (httpx.HTTPError, KeyError, ValueError):
            return False

    wait_until(hub_back, 120, what="the launcher to restart the hub")
    # The hub's own services die with the crashed hub and run once again, not twice.
    wait_until(lambda: len(stack.service_processes("notebooks_service.tokens.release")) == 1, 30,
               what="exactly one token release service after the hub restart")


def test_home_survives_stop_start_and_hub_restart(stack: Stack) -> None:
    client, _ = browser_login(stack, "bob")
    token = hub_token(client, stack, "bob")
    api = hub_api(stack, token)
    start_server(api, "bob")
    contents = _contents(stack, token)
    written = contents.put("/results.txt", json={
        "type": "file", "format": "text", "content": "measured 42\n"})
    assert written.status_code in (200, 201), written.text
    assert (stack.home("bob") / "results.txt").read_text() == "measured 42\n"

    stop_server(api, "bob")
    start_server(api, "bob")
    assert contents.get("/results.txt").json()["content"] == "measured 42\n"

    status_url = f"{stack.hub_url}/user/bob/api/status"
    headers = {"Authorization": f"token {token}"}
    started_before = httpx.get(status_url, headers=headers).json()["started"]
    _restart_hub_by_crash(stack, api)
    server = api.get("/users/bob").json()["servers"].get("")
    assert server is not None and server["ready"], "the running server was lost by a hub restart"
    assert httpx.get(status_url, headers=headers).json()["started"] == started_before
    assert contents.get("/results.txt").json()["content"] == "measured 42\n"
    stop_server(api, "bob")


def test_user_outside_allowed_groups_is_refused_with_a_clear_page(stack: Stack) -> None:
    _, page = browser_login(stack, "carol")
    assert page.status_code == 403
    assert "not allowed to use this service" in page.text
    assert "researchers" in page.text


def test_admin_group_member_is_hub_admin(stack: Stack) -> None:
    client, _ = browser_login(stack, "admin")
    api = hub_api(stack, hub_token(client, stack, "admin"))
    assert api.get("/user").json()["admin"] is True
    names = {user["name"] for user in api.get("/users").json()}
    assert "admin" in names


def test_wrong_password_gets_no_hub_session(stack: Stack) -> None:
    client, page = browser_login(stack, "alice", password="wrong")
    assert page.status_code == 401
    assert "Invalid username or password" in page.text
    assert not any(cookie.startswith("jupyterhub-session") for cookie in client.cookies)
