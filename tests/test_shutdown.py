"""Stopping `notebooks up` leaves nothing running, unless the operator asked to keep user servers."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_USERS
from tests.stack import Stack, browser_login, hub_api, hub_token, make_stack, start_server, write_toml


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    return state not in ("Z", "X")


def processes_in(directory: Path) -> set[int]:
    """Processes whose working directory is `directory` (user servers run in their home), by inode:
    inside its sandbox a server sees its home under another path."""
    home = directory.stat()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = (entry / "cwd").stat()
            except OSError:
                continue
            if (cwd.st_dev, cwd.st_ino) == (home.st_dev, home.st_ino):
                found.add(int(entry.name))
    return {pid for pid in found if alive(pid)}


def set_keep_servers(stack: Stack, keep: bool) -> None:
    write_toml(stack.config_path, {
        "service": {"port": stack.port, "data_dir": str(stack.data_dir),
                    "keep_servers_on_shutdown": keep},
        "dev_idp": {"port": stack.idp_port},
    }, DEMO_USERS)


@pytest.mark.real_stack  # its own stack, started and stopped twice
def test_servers_kept_on_request_then_everything_stops(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, "shutdown", users=DEMO_USERS)
    set_keep_servers(stack, True)
    stack.start()
    try:
        client, _ = browser_login(stack, "alice")
        token = hub_token(client, stack, "alice")
        start_server(hub_api(stack, token), "alice")
        status_url = f"{stack.hub_url}/user/alice/api/status"
        started = httpx.get(status_url, headers={"Authorization": f"token {token}"}).json()["started"]
        servers = processes_in(stack.home("alice"))
        assert servers, "the user server should run in alice's home"

        assert stack.stop() == 0
        assert all(alive(pid) for pid in servers), "keep_servers_on_shutdown must keep servers"

        set_keep_servers(stack, False)
        stack.start()
        answer = httpx.get(status_url, headers={"Authorization": f"token {token}"})
        assert answer.status_code == 200 and answer.json()["started"] == started
        parts = stack.pids()
    finally:
        code = stack.stop()
    assert code == 0
    leftovers = [name for name, pid in parts.items() if alive(pid)]
    assert not leftovers, f"still running after shutdown: {leftovers}"
    assert not processes_in(stack.home("alice")), "the user server must stop with the service"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.hub_url}/hub/api")
