"""Alice, from her own kernel, tries to reach bob, his token, the service's secrets and root.

Every attempt must fail: the data dir is the service's alone, bob's processes are in another PID
namespace and belong to another account, his server answers nobody without a hub token of his, and no
setuid binary or capability brings root back.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.isolation.attacks import attack_code
from tests.isolation.conftest import Tenant, account_processes
from tests.stack import Stack


def service_files(stack: Stack, except_home: Path) -> tuple[list[str], list[str]]:
    """Every file and directory of the data dir except alice's own home."""
    files, directories = [], []
    for path in stack.data_dir.rglob("*"):
        if path == except_home or path.is_relative_to(except_home):
            continue
        (directories if path.is_dir() else files).append(str(path))
    return files, directories


def test_alice_reaches_nothing_of_bob_nor_of_the_service(shared_machine: Stack, alice: Tenant,
                                                        bob: Tenant) -> None:
    bob_home = shared_machine.home("bob")
    (bob_home / "private.txt").write_text("bob's notes")
    files, directories = service_files(shared_machine, shared_machine.home("alice"))
    for expected in ("jupyterhub.sqlite", "secrets/cookie_secret", "secrets/hub_client_secret",
                     "secrets-run/bob/access_token", "homes/bob/private.txt"):
        assert str(shared_machine.data_dir / expected) in files, f"{expected} should be attacked"
    assert any("/idp/" in f for f in files), "the IdP's state and signing key should be attacked"
    bob_url = f"{server_target(shared_machine, 'bob')}/user/bob/"
    targets = {
        "files": files, "directories": directories, "pids": account_processes("nb-bob"),
        "urls": [f"{bob_url}api/contents", f"{bob_url}api/kernels", f"{bob_url}lab"],
        "headers": {},
    }
    results = json.loads(alice.run(attack_code(targets)))
    facts = results.pop("facts")
    succeeded = {name: outcome for name, outcome in results.items() if not outcome.startswith("failed")}
    assert not succeeded, f"attacks that worked: {succeeded}"
    assert len(results) > 2 * len(files), "every file was attempted"
    assert len(targets["pids"]) >= 2, "bob's server and dumb-init run as nb-bob"
    assert facts["uid"] == facts["euid"] != 0
    assert facts["no_new_privs"] == "1"
    assert int(facts["capabilities"], 16) == 0 and int(facts["bounding"], 16) == 0
    assert max(facts["processes"]) < 100, f"alice sees other processes: {facts['processes']}"
    assert facts["home"] == facts["cwd"] == "/home/nb-alice"
    assert bob.server()["ready"], "bob's server survived the attempts"
    assert (bob_home / "private.txt").read_text() == "bob's notes"
    assert not (bob_home / "planted").exists()


def test_alice_uses_her_own_hub_token_on_bobs_server(shared_machine: Stack, alice: Tenant,
                                                     bob: Tenant) -> None:
    """The token her server holds (JUPYTERHUB_API_TOKEN) opens her server only."""
    code = "import os; print(os.environ['JUPYTERHUB_API_TOKEN'])"
    her_server_token = alice.run(code).strip()
    for url in (f"{shared_machine.hub_url}/user/bob/api/contents",
                f"{server_target(shared_machine, 'bob')}/user/bob/api/contents"):
        response = httpx.get(url, headers={"Authorization": f"token {her_server_token}"})
        assert response.status_code in (401, 403), (url, response.status_code)
    mine = httpx.get(f"{shared_machine.hub_url}/user/alice/api/contents",
                     headers={"Authorization": f"token {her_server_token}"})
    assert mine.status_code == 200


def server_target(stack: Stack, name: str) -> str:
    """Where the proxy sends /user/<name>/: the server's own loopback address and port."""
    runtime = json.loads((stack.data_dir / "run" / "runtime.json").read_text())
    secret = (stack.data_dir / "secrets" / "proxy_auth_token").read_text().strip()
    routes = httpx.get(f"http://127.0.0.1:{runtime['proxy_api_port']}/api/routes",
                       headers={"Authorization": f"token {secret}"}).json()
    return str(routes[f"/user/{name}"]["target"]).rstrip("/")
