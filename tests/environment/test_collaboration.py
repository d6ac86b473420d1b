"""Two users edit one notebook at once through the server's real collaboration websocket: the owner and
a collaborator who entered with a share code, until the share is revoked."""

from __future__ import annotations

import json
import re
import time

import httpx
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.environment.collab import collaborate, room_url
from tests.environment.conftest import Lab
from tests.environment.sharing import accept_share_code, server_status, wait_for_status
from tests.stack import Stack, browser_login, hub_api, hub_token, start_server, stop_server, wait_until


def write_notebook(stack: Stack, name: str, source: str) -> None:
    stack.put_in_home("alice", name, lambda path: nbformat.write(new_notebook(cells=[new_code_cell(source)]),
                                                                 path))


async def test_owner_and_share_code_collaborator_co_edit_until_revoked(stack: Stack, lab: Lab) -> None:
    write_notebook(stack, "together.ipynb", "x = 1")
    server_url = str(lab.server.base_url)
    bob_browser, _ = browser_login(stack, "bob")
    bob_token = hub_token(bob_browser, stack, "bob")
    bob_api = httpx.Client(timeout=30, headers={"Authorization": f"token {bob_token}"})
    assert server_status(bob_api, stack, "alice") == 403

    code = lab.hub.post("/share-codes/alice/", json={"expires_in": 600})
    assert code.status_code == 200, code.text
    assert accept_share_code(bob_browser, stack, code.json()["accept_url"]).status_code == 200
    wait_for_status(bob_api, stack, "alice", 200)  # the server cached its 403 for bob's token
    try:
        async with collaborate(server_url, lab.token, "together.ipynb") as alice, \
                collaborate(server_url, bob_token, "together.ipynb") as bob:
            assert alice.source(0) == bob.source(0) == "x = 1"
            alice.append(0, "\ny = 2")
            await bob.wait_for(lambda c: c.source(0) == "x = 1\ny = 2")
            bob.append(0, "\nz = 3")
            await alice.wait_for(lambda c: c.source(0).endswith("z = 3"))
            assert alice.source(0) == bob.source(0) == "x = 1\ny = 2\nz = 3"
    finally:
        assert lab.hub.delete("/shares/alice/").status_code == 204

    def saved() -> bool:  # the server saves the shared document to the file by itself
        cells = json.loads((stack.home("alice") / "together.ipynb").read_text())["cells"]
        return "".join(cells[0]["source"]) == "x = 1\ny = 2\nz = 3"

    wait_until(saved, 30, what="the co-edited notebook to be saved")
    wait_for_status(bob_api, stack, "alice", 403)
    url, _ = room_url(server_url, lab.token, "together.ipynb")  # the owner can still open the room
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers={"Authorization": f"token {bob_token}"}):
            pass
    assert refused.value.response.status_code == 403


async def test_server_stops_promptly_by_its_own_shutdown_after_collaboration(stack: Stack) -> None:
    """A collaboration session leaves a worker thread that kept the server alive after a SIGINT until
    the hub's SIGKILL, a minute later; stopped with SIGTERM, the server runs its shutdown and exits 0."""
    browser, _ = browser_login(stack, "bob")
    token = hub_token(browser, stack, "bob")
    api = hub_api(stack, token)
    start_server(api, "bob")
    notebook = stack.put_in_home(
        "bob", "draft.ipynb", lambda path: nbformat.write(new_notebook(cells=[new_code_cell("a = 1")]), path))
    server_url = f"{stack.hub_url}/user/bob/"
    async with collaborate(server_url, token, "draft.ipynb") as first, \
            collaborate(server_url, token, "draft.ipynb") as second:
        first.append(0, "\nb = 2")
        await second.wait_for(lambda c: c.source(0) == "a = 1\nb = 2")
    wait_until(lambda: "b = 2" in notebook.read_text(), 30, what="the edited notebook to be saved")

    logged_before = len(stack.log())
    started = time.monotonic()
    stop_server(api, "bob", timeout=90)  # long enough to see how a slow stop ended
    took = time.monotonic() - started

    def exit_logged() -> tuple[str, str] | None:
        log = stack.log()[logged_before:]
        found = re.search(r"Server bob \(pid \d+\) stopped, exit status (\S+)", log)
        return (found.group(1), log) if found else None

    status, log = wait_until(exit_logged, 10, what="the hub to log how bob's server exited")
    assert status == "0", f"the server did not exit by itself (exit status {status}; -9 is SIGKILL)"
    assert "received signal 15, stopping" in log and "Shutting down" in log, "no normal shutdown"
    assert "Interrupted..." not in log, "the server was sent SIGINT, which skips its shutdown"
    assert took < 30, f"stopping took {took:.0f} s"
    assert "b = 2" in notebook.read_text()
