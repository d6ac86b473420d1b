"""End to end on Kubernetes: the service's hub with KubeTokenSpawner, as the hub's ServiceAccount of the
test cluster, spawning JupyterLab pods that the node agent runs; login through the development IdP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_USERS
from tests.kernel import run_in_kernel
from tests.kubernetes.cluster_session import SYNC_DELAY, KubeCluster
from tests.kubernetes.hub_access import NAMESPACE
from tests.seeds import REQUESTS_SNIPPET
from tests.stack import (
    Stack,
    browser_login,
    hub_api,
    hub_token,
    make_stack,
    stop_server,
    verify_with_jwks,
    wait_until,
)

LIFETIME = 20
"""Seconds an access token lives: short, so that the test sees the mounted file refreshed."""
KUBE_UP = Path(__file__).with_name("kube_up.py")
CREDITS: dict[str, dict[str, Any]] = {
    "credits": {"enabled": True, "posting_interval": 2, "grace_period": 4, "minimum_runway": 30,
                "warning_thresholds": [20], "default_profile": "small"},
    "credits.profiles.small": {"description": "Small", "cpu": 0.5, "memory_gb": 1, "price_per_hour": 0.01},
    "credits.profiles.large": {"description": "Large", "cpu": 2, "memory_gb": 3, "price_per_hour": 360},
    "credits.grants.researchers": {"amount": 5},
}
"""Profiles rendered into the chart's profile list; `large` spends a researcher's 5 credits in 50 s."""
SEE_TOKENS = """
import json, os
def read(path):
    return open(path).read() if os.path.exists(path) else None
print(json.dumps({"oidc": read(os.environ["OIDC_ACCESS_TOKEN_FILE"]),
                  "egi": read("/var/run/secrets/egi.eu/access_token"),
                  "uid": os.getuid(), "groups": os.getgroups()}))
"""
"""What code in the pod sees: the token at both mount paths, and who it runs as."""


def kube_up_command(*args: str) -> list[str]:
    return [sys.executable, str(KUBE_UP), *args]


@pytest.fixture(scope="module")
def kube_stack(cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    service = make_stack(tmp_path_factory.mktemp("kube-hub"), "kube-hub", sections={
        # as the chart sets it: a hub that stops or restarts leaves user pods running
        "service": {"auth_refresh_age": 1, "keep_servers_on_shutdown": True},
        "dev_idp": {"access_token_lifetime": LIFETIME, "id_token_lifetime": LIFETIME},
        **CREDITS,
    }, users=DEMO_USERS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(cluster.hub_kubeconfig))
        patch.setattr("tests.stack.notebooks_command", kube_up_command)
        service.start()
    yield service
    service.stop()


class Kube:
    """Reads of the cluster as its admin, to see what the hub did."""

    def __init__(self, cluster: KubeCluster) -> None:
        self.cluster = cluster
        self.client = cluster.plane.admin_client()

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        answer = self.client.get(f"/api/v1/namespaces/{NAMESPACE}/{kind}/{name}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture(scope="module")
def kube(cluster: KubeCluster) -> Iterator[Kube]:
    reader = Kube(cluster)
    yield reader
    reader.client.close()


def spawn(api: httpx.Client, name: str, options: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/users/{name}/server", json=options)
    assert response.status_code in (201, 202), response.text
    server: dict[str, Any] = wait_until(
        lambda: (api.get(f"/users/{name}").json()["servers"].get("") or {}).get("ready") and
        api.get(f"/users/{name}").json()["servers"][""], 150, what=f"{name}'s server")
    return server


def alice_with_her_token(stack: Stack, cluster: KubeCluster) -> tuple[str, httpx.Client, Path]:
    """alice logged in, with her server started with the token mounted and the file in the pod: her
    hub token, an API client with it, and the token file as the pod sees it."""
    browser, _ = browser_login(stack, "alice")
    token = hub_token(browser, stack, "alice")
    api = hub_api(stack, token)
    spawn(api, "alice", {"mount_access_token": True})
    token_file = cluster.pod_volume(NAMESPACE, "jupyter-alice", "oidc-tokens") / "access_token"
    wait_until(token_file.exists, 10 * SYNC_DELAY, what="the token file in the pod")
    return token, api, token_file


def xsrf_headers(browser: httpx.Client, prefix: str) -> dict[str, str]:
    return {"X-XSRFToken": browser.cookies.get("_xsrf", path=prefix) or ""}


def test_jupyterlab_on_a_pod_with_a_refreshed_token_and_a_home_that_stays(
        kube_stack: Stack, cluster: KubeCluster, kube: Kube) -> None:
    browser, _ = browser_login(kube_stack, "alice")
    token = hub_token(browser, kube_stack, "alice")
    api = hub_api(kube_stack, token)
    spawn(api, "alice", {"mount_access_token": True})

    pod = kube.get("pods", "jupyter-alice")
    assert pod is not None and pod["status"]["phase"] == "Running"
    assert pod["spec"]["nodeName"] == "notebooks-test-node"
    small = {"cpu": "500m", "memory": str(1024**3)}  # the default profile, from the rendered profile list
    assert pod["spec"]["containers"][0]["resources"] == {"requests": small, "limits": small}
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    assert pod["spec"]["automountServiceAccountToken"] is False, "a user's server gets no API credentials"
    secret = kube.get("secrets", "oidc-jupyter-alice")
    assert secret is not None and set(secret["data"]) == {"access_token", "id_token"}

    lab = browser.get(f"{kube_stack.hub_url}/user/alice/lab")
    assert lab.status_code == 200 and "JupyterLab" in lab.text, lab.text[:500]
    assert str(lab.url).startswith(f"{kube_stack.hub_url}/user/alice/lab")

    token_file = cluster.pod_volume(NAMESPACE, "jupyter-alice", "oidc-tokens") / "access_token"
    first = wait_until(lambda: token_file.exists() and token_file.read_text(), 10 * SYNC_DELAY,
                       what="the token file in the pod")
    assert verify_with_jwks(kube_stack, first)["preferred_username"] == "alice"
    newer = wait_until(lambda: token_file.read_text() != first and token_file.read_text(), 2 * LIFETIME,
                       interval=0.2, what="the refreshed token in the pod")
    assert verify_with_jwks(kube_stack, first)["exp"] > time.time(), "replaced before it expired"
    assert verify_with_jwks(kube_stack, newer)["exp"] > verify_with_jwks(kube_stack, first)["exp"]
    seen = json.loads(asyncio.run(run_in_kernel(f"{kube_stack.hub_url}/user/alice/", token, SEE_TOKENS)))
    assert seen["oidc"] == seen["egi"], "both mount paths show the same Secret"
    assert verify_with_jwks(kube_stack, seen["oidc"])["exp"] >= verify_with_jwks(kube_stack, newer)["exp"]
    assert (seen["uid"], 100 in seen["groups"]) == (1000, True)

    contents = f"{kube_stack.hub_url}/user/alice/api/contents/kept.txt"
    saved = browser.put(contents, json={"type": "file", "format": "text", "content": "still here"},
                        headers=xsrf_headers(browser, "/user/alice/"))
    assert saved.status_code in (200, 201), saved.text

    stop_server(api, "alice")
    wait_until(lambda: kube.get("pods", "jupyter-alice") is None, 60, what="the pod to be deleted")
    assert kube.get("secrets", "oidc-jupyter-alice") is None, "the token Secret goes with the server"
    assert kube.get("persistentvolumeclaims", "claim-alice") is not None, "the home stays"

    spawn(api, "alice", {"mount_access_token": False})  # an empty body would reuse the last options
    assert kube.get("secrets", "oidc-jupyter-alice") is None
    pod = kube.get("pods", "jupyter-alice")
    assert pod is not None and not [v for v in pod["spec"]["volumes"] if "secret" in v]
    assert browser.get(f"{kube_stack.hub_url}/user/alice/lab").status_code == 200  # log in to the new one
    kept = browser.get(contents)
    assert kept.status_code == 200 and kept.json()["content"] == "still here", kept.text
    stop_server(api, "alice")


def test_sharing_deletes_the_secret_and_the_file_leaves_the_pod(
        kube_stack: Stack, cluster: KubeCluster, kube: Kube) -> None:
    bob_browser, _ = browser_login(kube_stack, "bob")
    hub_token(bob_browser, kube_stack, "bob")
    token, api, token_file = alice_with_her_token(kube_stack, cluster)

    shared = api.post("/shares/alice/", json={"user": "bob"})
    assert shared.status_code == 200, shared.text
    wait_until(lambda: kube.get("secrets", "oidc-jupyter-alice") is None, 3, interval=0.1,
               what="the token Secret to be deleted at once")
    wait_until(lambda: not token_file.exists(), 5 * SYNC_DELAY, interval=0.1,
               what="the token file to leave the pod")
    time.sleep(LIFETIME)  # refreshes come and go: none reaches a shared server
    assert kube.get("secrets", "oidc-jupyter-alice") is None and not token_file.exists()
    seen = json.loads(asyncio.run(run_in_kernel(f"{kube_stack.hub_url}/user/alice/", token, SEE_TOKENS)))
    assert (seen["oidc"], seen["egi"]) == (None, None), "code in the pod finds no token"
    revoked = api.delete("/shares/alice/")  # the next tests' servers are alice's own again
    assert revoked.status_code == 204, revoked.text
    stop_server(api, "alice")


def test_a_chosen_profile_sizes_the_pod_and_credits_stop_it_at_zero(
        kube_stack: Stack, kube: Kube) -> None:
    browser, _ = browser_login(kube_stack, "bob")
    api = hub_api(kube_stack, hub_token(browser, kube_stack, "bob"))
    started = time.monotonic()
    spawn(api, "bob", {"profile": "large", "mount_access_token": False})
    pod = kube.get("pods", "jupyter-bob")
    assert pod is not None
    large = {"cpu": "2", "memory": str(3 * 1024**3)}
    assert pod["spec"]["containers"][0]["resources"] == {"requests": large, "limits": large}
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert (env["NOTEBOOKS_PROFILE"], env["CPU_LIMIT"]) == ("large", "2")

    wait_until(lambda: kube.get("pods", "jupyter-bob") is None, 120, interval=1,
               what="the credits service to stop bob's pod at zero credits")
    ran = time.monotonic() - started
    assert 40 < ran < 120, f"5 credits at 360 per hour last 50 s (+4 s grace); the pod ran {ran:.0f} s"
    wallet = api.get(f"{kube_stack.hub_url}/services/credits/api/status")
    assert wallet.status_code == 200, wallet.text
    balance = next(w for w in wallet.json()["wallets"] if w["wallet"] == "user:bob")["balance"]
    assert balance <= 0.1, balance
    # the hub ends the stop once KubeSpawner has seen the pod go (its reflector), a moment after the pod
    wait_until(lambda: api.get("/users/bob").json()["servers"] == {}, 30, what="the hub to end bob's stop")
    assert kube.get("persistentvolumeclaims", "claim-bob") is not None, "the home stays"


def test_seed_snippet_and_the_panel_in_a_pod_and_a_hub_restart_leaves_the_pod_running(
        kube_stack: Stack, cluster: KubeCluster, kube: Kube) -> None:
    token, api, _ = alice_with_her_token(kube_stack, cluster)
    server_url = f"{kube_stack.hub_url}/user/alice/"

    # the seeds' requests snippet, as written, in a kernel of the pod: the mounted token at /services/jwt
    code = REQUESTS_SNIPPET.format(hub_url=kube_stack.hub_url) + (
        "\nimport json\nprint(json.dumps({'status': r.status_code, 'users': [u['name'] for u in users]}))")
    seen = json.loads(asyncio.run(run_in_kernel(server_url, token, code)))
    assert seen == {"status": 200, "users": ["alice"]}

    # the panel's Save and Keep refreshed: the server in the pod asks the token release service
    panel = httpx.Client(base_url=f"{server_url}notebooks-token/", timeout=30,
                         headers={"Authorization": f"token {token}"})
    saved = panel.post("save", json={"path": "saved_token.txt"})
    assert saved.status_code == 200, saved.text
    home = cluster.claim_directory(NAMESPACE, "claim-alice")
    saved_claims = verify_with_jwks(kube_stack, (home / "saved_token.txt").read_text())
    assert saved_claims["preferred_username"] == "alice"
    kept = panel.put("keep", json={"enabled": True, "path": "kept_token.txt"})
    assert kept.status_code == 200 and kept.json()["keep"]["enabled"] is True, kept.text
    kept_file = home / "kept_token.txt"
    first = wait_until(lambda: kept_file.exists() and kept_file.read_text(), 10, what="the kept file")
    wait_until(lambda: kept_file.read_text() != first, 3 * LIFETIME, interval=0.5,
               what="the kept file to follow a refreshed token")
    newer = verify_with_jwks(kube_stack, kept_file.read_text())
    assert newer["exp"] > verify_with_jwks(kube_stack, first)["exp"]

    # a hub restart (the pod is the hub's child in no sense): the pod and its server go on
    pod_uid = kube.get("pods", "jupyter-alice")["metadata"]["uid"]  # type: ignore[index]
    old_hub = kube_stack.pids()["JupyterHub"]
    os.kill(old_hub, signal.SIGTERM)
    wait_until(lambda: kube_stack.pids().get("JupyterHub") not in (None, old_hub), 90,
               what="the launcher to restart the hub")
    wait_until(lambda: api.get("/users/alice").status_code == 200, 60, what="the restarted hub")
    assert api.get("/users/alice").json()["servers"][""]["ready"] is True
    pod = kube.get("pods", "jupyter-alice")
    assert pod is not None and pod["metadata"]["uid"] == pod_uid, "the same pod, never restarted"
    seen = json.loads(asyncio.run(run_in_kernel(server_url, token, code)))
    assert seen["status"] == 200
    panel.put("keep", json={"enabled": False})
    stop_server(api, "alice")
