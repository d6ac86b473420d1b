"""A hub that crashes finds its sandboxed servers running, and stopping them afterwards leaves nothing:
no sandbox orphaned by a signal meant for the server, no zombie mistaken for a running server."""

from __future__ import annotations

import os
import signal

import httpx

from tests.isolation.conftest import account_processes, start
from tests.stack import Stack, stop_server, wait_until


def test_servers_outlive_a_hub_crash_and_stop_completely_after(shared_machine: Stack) -> None:
    admin = start(shared_machine, "admin", {"mount_access_token": True})
    status = f"{admin.server_url}api/status"
    headers = {"Authorization": f"token {admin.token}"}
    started = httpx.get(status, headers=headers).json()["started"]
    hub = shared_machine.pids()["JupyterHub"]
    os.kill(hub, signal.SIGKILL)
    wait_until(lambda: shared_machine.pids().get("JupyterHub") not in (None, hub), 120,
               what="the launcher to restart the hub")
    wait_until(lambda: admin.api.get("/").status_code == 200, 120, what="the hub API")
    assert admin.server().get("ready"), "the restarted hub lost the running server"
    assert httpx.get(status, headers=headers).json()["started"] == started, "the same server answers"
    assert account_processes("nb-admin")
    stop_server(admin.api, "admin")
    wait_until(lambda: not account_processes("nb-admin"), 30,
               what="every process of the stopped server to end")
