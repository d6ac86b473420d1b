"""The seeds' token path, memory limits that kill a greedy kernel but not its server, and accounts."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.isolation.conftest import Tenant, account_processes
from tests.seeds import REQUESTS_SNIPPET
from tests.stack import Stack, browser_login, hub_api, hub_token, verify_with_jwks, wait_until

SEED_SNIPPET = REQUESTS_SNIPPET + """
print(json.dumps({{"users": users, "token": open("/var/run/secrets/oidc/access_token").read(),
                  "egi": open("/var/run/secrets/egi.eu/access_token").read(),
                  "env": open(os.environ["OIDC_ACCESS_TOKEN_FILE"]).read()}}))
"""


def test_the_seed_snippet_works_with_its_literal_path(shared_machine: Stack, bob: Tenant) -> None:
    code = "import json, os\n" + SEED_SNIPPET.format(hub_url=shared_machine.hub_url)
    seen = json.loads(bob.run(code))
    assert [user["name"] for user in seen["users"]] == ["bob"]
    assert seen["token"] == seen["egi"] == seen["env"]
    assert verify_with_jwks(shared_machine, seen["token"])["preferred_username"] == "bob"


def test_a_greedy_kernel_is_killed_and_the_server_lives(shared_machine: Stack, alice: Tenant) -> None:
    """The stack's default limit is 0.75 GiB: a kernel that fills 1 GiB is killed by the kernel's OOM
    killer inside alice's cgroup; her server, bob's and the machine carry on."""
    greedy = "hog = bytearray(1024 ** 3)\nhog[::4096] = b'x' * len(hog[::4096])\nprint('survived')"
    with pytest.raises(Exception) as killed:
        alice.run(greedy, timeout=20)
    assert "survived" not in str(killed.value)
    assert alice.server()["ready"]
    assert alice.run("print(6 * 7)").strip() == "42", "the server starts new kernels after the kill"
    cgroup = json.loads(alice.run(
        "import json, os\nprint(json.dumps({k: os.environ.get(k) for k in ('MEM_LIMIT', 'CPU_LIMIT')}))"))
    assert cgroup == {"MEM_LIMIT": str(int(0.75 * 1024**3)), "CPU_LIMIT": "1"}
    wait_until(lambda: "killed for exceeding its memory limit of 0.75 GiB" in shared_machine.log(), 30,
               what="the server to log why alice's kernel died")
    limits = httpx.get(f"{alice.server_url}notebooks-limits",
                       headers={"Authorization": f"token {alice.token}"}).json()
    assert limits["enforced"] and limits["memory_kills"] >= 1, limits
    assert limits["memory_limit_bytes"] == int(0.75 * 1024**3)


def cpu_quota(pid: int) -> str:
    """The CFS quota of the cgroup process `pid` is in, as the host sees it (v1 or v2)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if "cpu" in names.split(","):
            return Path("/sys/fs/cgroup/cpu", path.lstrip("/"), "cpu.cfs_quota_us").read_text().strip()
        if names == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            return Path("/sys/fs/cgroup", path.lstrip("/"), "cpu.max").read_text().split()[0]
    raise AssertionError(f"process {pid} is in no cpu cgroup")


def test_the_start_boost_ends_when_the_server_answers(shared_machine: Stack, bob: Tenant) -> None:
    """Started with the machine's CPUs (the start boost), bob's server runs on its own 1 CPU after."""
    assert "in a sandbox with CPU and memory limits." in shared_machine.log(), "the banner: limits hold"
    assert f"bob limited to 1 CPU ({os.cpu_count()} while starting)" in shared_machine.log()
    processes = account_processes("nb-bob")
    assert processes, "bob's server runs as his account"
    assert {cpu_quota(pid) for pid in processes} == {"100000"}


@pytest.fixture
def foreign_account() -> Iterator[str]:
    """A system account named as eve's would be, but not the service's (uid outside the range)."""
    subprocess.run(["useradd", "--uid", "1777", "--no-create-home", "nb-eve"], check=True)
    yield "nb-eve"
    subprocess.run(["userdel", "nb-eve"], check=True)


def test_a_foreign_account_is_never_used(shared_machine: Stack, foreign_account: str) -> None:
    browser, _ = browser_login(shared_machine, "eve")
    api = hub_api(shared_machine, hub_token(browser, shared_machine, "eve"))
    response = api.post("/users/eve/server", json={})
    if response.status_code == 202:
        wait_until(lambda: not api.get("/users/eve").json()["servers"], 60, what="the refused spawn")
    else:
        assert response.status_code >= 400
    assert "outside the service's range" in shared_machine.log()
    processes = subprocess.run(["pgrep", "-u", "1777"], capture_output=True, text=True).stdout
    assert not processes.strip(), "nothing runs as the foreign account"
