"""A running service as root with two users' servers, for attacks from inside one of them."""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_USERS
from tests.kernel import run_in_kernel
from tests.stack import Stack, browser_login, hub_api, hub_token, make_stack, stop_server, wait_until


@dataclass
class Tenant:
    """A user with a running server: hub API client and the token that reaches their server."""

    name: str
    api: httpx.Client
    token: str
    stack: Stack

    @property
    def server_url(self) -> str:
        return f"{self.stack.hub_url}/user/{self.name}/"

    def run(self, code: str, timeout: float = 120) -> str:
        """Run `code` in a new kernel of this user's server; what it printed."""
        return asyncio.run(run_in_kernel(self.server_url, self.token, code, timeout))

    def server(self) -> dict:
        return self.api.get(f"/users/{self.name}").json()["servers"].get("") or {}


def account_processes(account: str) -> list[int]:
    """Host pids of the live (not zombie) processes running as `account`: a user's server, kernels."""
    uid = pwd.getpwnam(account).pw_uid
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and entry.stat().st_uid == uid
                    and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def start(stack: Stack, name: str, options: dict) -> Tenant:
    browser, _ = browser_login(stack, name)
    token = hub_token(browser, stack, name)
    api = hub_api(stack, token)
    response = api.post(f"/users/{name}/server", json=options)
    assert response.status_code in (201, 202), response.text
    tenant = Tenant(name, api, token, stack)
    wait_until(lambda: tenant.server().get("ready"), 120, what=f"{name}'s server")
    return tenant


@pytest.fixture(scope="package")
def shared_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The service as root (accounts mode): alice's and bob's servers run as their own accounts."""
    assert os.geteuid() == 0, "the isolation tests run the service as root, as on a shared machine"
    users = [*DEMO_USERS, {"username": "eve", "groups": ["researchers"]}]
    stack = make_stack(tmp_path_factory.mktemp("isolation"), "machine", users=users,
                       sections={"isolation": {"default_memory_gb": 0.75}})
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def bob(shared_machine: Stack) -> Iterator[Tenant]:
    tenant = start(shared_machine, "bob", {"mount_access_token": True})
    yield tenant
    stop_server(tenant.api, "bob")


@pytest.fixture(scope="package")
def alice(shared_machine: Stack) -> Iterator[Tenant]:
    tenant = start(shared_machine, "alice", {"mount_access_token": False})
    yield tenant
    stop_server(tenant.api, "alice")
