"""Our services' Deployments, as `notebooks kubernetes objects` renders them, really run on the test cluster
and serve the hub.

The operator file is rendered with `notebooks_service.kubernetes.render.render` and every rendered object
is created in the namespace `jhub`, with the Secrets the chart and the operator would have made (the
chart's `hub` Secret with one API token per service, `notebooks-oidc`, `notebooks-db`). The node agent
runs the pods from the hub's environment and forwards each Service's stand-in address to its ready pods.

The hub is a `notebooks up` on the host (`rendered_services_up.py`): its development IdP is the issuer
the rendered file names (pods reach it on loopback), its hub registers the three services at the
Services' stand-in addresses with the Secret's tokens and runs none of them, and the launcher's own JWT
process is left out. The pods reach the hub as the chart's `hub:8081`, an external service of the node
agent. User servers stay local (LocalTokenSpawner): what is tested here is the services, whose work over
the hub's servers is the same whoever spawns them.

What it found, beyond "it works": the Service balances connections and the proxy keeps its upstream
connections alive, so a client asking in turn reaches one JWT pod and a new pod gets only new
connections; and a JWT pod closed its kept-alive connections at once on SIGTERM, so a request the proxy
sent over one of them at that moment failed with 503 "socket hang up" (one request in about one pod
deletion of six here; rolling upgrades delete every pod). A stopping JWT pod now drains
(`kubernetes.drain_seconds`): it keeps serving, each answer closing its connection, so the proxy moves to
new connections (to the other pod) before the pod stops. A connection the proxy left idle through the
whole drain is still closed at its end, and a request sent over it at that moment would fail: the
deletion test tolerates one such failure, at the drain's end, whose retry succeeds.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from notebooks_service.kubernetes.names import SERVICE_PORT, object_name
from notebooks_service.kubernetes.render import Rendered, render
from notebooks_service.launcher.ports import free_port
from notebooks_service.launcher.token import fetch_token
from tests.conftest import DEMO_USERS
from tests.credits.postgres import PostgresServer
from tests.kubernetes.cluster_session import HUB_IMAGE, KubeCluster
from tests.kubernetes.hub_access import NAMESPACE
from tests.kubernetes.rendered_services_up import ENDPOINTS_ENV
from tests.seeds import REQUESTS_SNIPPET
from tests.stack import (
    DEMO_PASSWORD,
    Stack,
    browser_login,
    hub_api,
    hub_token,
    make_stack,
    verify_with_jwks,
    wait_until,
    write_toml,
)

log = logging.getLogger(__name__)

SERVICES_UP = Path(__file__).with_name("rendered_services_up.py")
SERVICES = ("jwt", "tokens", "credits")
"""The rendered Deployments (no `[zone]`: the zone directory's Deployment is not rendered)."""
CREDITS: dict[str, dict[str, Any]] = {
    "credits": {"enabled": True, "posting_interval": 2, "grace_period": 4, "minimum_runway": 30,
                "warning_thresholds": [20], "default_profile": "small"},
    "credits.profiles.small": {"description": "Small", "cpu": 0.5, "memory_gb": 1, "price_per_hour": 360},
    "credits.grants.researchers": {"amount": 100},
}
"""Shared by the hub's file and the rendered one; 360 per hour is 0.1 credit a second, visible at once."""
LOAD_REQUESTS = 20
DRAIN_SECONDS = 3
"""`kubernetes.drain_seconds` of the rendered file (shorter than the default 5, to keep the test short)."""
MINTED = re.compile(r"issued hub token \S+ for (\S+),")
"""What a JWT API pod logs the first time it serves a user: its own hub token for them."""
_PATHS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}


def services_up_command(*args: str) -> list[str]:
    return [sys.executable, str(SERVICES_UP), *args]


@dataclass
class Deployed:
    """The rendered services on the cluster and the hub they serve."""

    cluster: KubeCluster
    stack: Stack
    rendered: Rendered
    client: httpx.Client
    """The API server as its admin."""
    api_tokens: dict[str, str]
    """Service name → the API token in the chart's `hub` Secret."""
    addresses: dict[str, str]
    """Service name → its Service's stand-in address."""

    def path(self, kind: str, name: str = "") -> str:
        base = _PATHS[kind].format(ns=NAMESPACE)
        return f"{base}/{name}" if name else base

    def apply(self, manifest: dict[str, Any]) -> bool:
        """`kubectl create` of one object; whether it was created. The token Role and its binding are
        already there (the cluster fixture applies the same rendered objects, and other modules use
        them): 409 Conflict, as kubectl would report too, and they are left alone."""
        answer = self.client.post(self.path(manifest["kind"]), json=manifest)
        if answer.status_code == 409 and manifest["kind"] in ("Role", "RoleBinding"):
            return False
        assert not answer.is_error, f"{manifest['kind']} {manifest['metadata']['name']}: {answer.text}"
        return True

    def routed(self) -> bool:
        """Whether the proxy sends every service's prefix to its Service. The hub adds the routes of
        external services only after waiting for each one in turn (JupyterHub's start), or at its next
        route check: until then `/services/<name>` falls through to the hub (404)."""
        runtime = json.loads((self.stack.data_dir / "run" / "runtime.json").read_text())
        auth = (self.stack.data_dir / "secrets" / "proxy_auth_token").read_text().strip()
        routes = httpx.get(f"http://127.0.0.1:{runtime['proxy_api_port']}/api/routes",
                           headers={"Authorization": f"token {auth}"}, timeout=10).json()
        return all(routes.get(f"/services/{s}", {}).get("target") ==
                   f"http://{self.addresses[s]}:{SERVICE_PORT}" for s in SERVICES)

    def pods(self, service: str) -> list[dict[str, Any]]:
        """The Deployment's pods that are not being deleted."""
        answer = self.client.get(f"/api/v1/namespaces/{NAMESPACE}/pods", params={
            "labelSelector": f"app.kubernetes.io/name={object_name(service)}"})
        answer.raise_for_status()
        return [pod for pod in answer.json()["items"] if not pod["metadata"].get("deletionTimestamp")]

    def ready_pods(self, service: str) -> list[str]:
        return sorted(pod["metadata"]["name"] for pod in self.pods(service)
                      if any(c["type"] == "Ready" and c["status"] == "True"
                             for c in pod["status"].get("conditions", [])))

    def container_log(self, pod: str) -> str:
        """What the pod's process wrote (the node agent keeps it after the pod is gone)."""
        found = list(self.cluster.node_root.glob(f"pods/{NAMESPACE}_{pod}_*/container.log"))
        assert len(found) == 1, found
        return found[0].read_text(errors="replace")

    def minted_for(self, pod: str, user: str) -> int:
        return sum(1 for name in MINTED.findall(self.container_log(pod)) if name == user)

    def deployments_ready(self) -> bool:
        for service in SERVICES:
            answer = self.client.get(self.path("Deployment", object_name(service))).json()
            if answer["status"].get("readyReplicas", 0) != answer["spec"]["replicas"] or \
                    len(self.ready_pods(service)) != answer["spec"]["replicas"]:
                return False
        return True

    def diagnosis(self) -> str:
        lines = [self.cluster.agent_log()[-3000:]]
        for service in SERVICES:
            for pod in self.pods(service):
                name = pod["metadata"]["name"]
                lines.append(f"--- {name} {pod['status'].get('phase')} "
                             f"{json.dumps(pod['status'].get('containerStatuses', []))[:600]}")
                found = list(self.cluster.node_root.glob(f"pods/{NAMESPACE}_{name}_*/container.log"))
                lines += [path.read_text(errors="replace")[-1500:] for path in found]
        return "\n".join(lines)


def operator_file(path: Path, stack: Stack, ledger_url: str) -> Path:
    """The operator's file for Kubernetes, in the shape of deploy/examples/kubernetes.toml, naming the
    test's IdP and ledger; no secret in it (the render refuses them)."""
    return write_toml(path, {
        "oidc": {"issuer": stack.issuer},
        "dev_idp": {"enabled": False},
        **{section: dict(values) for section, values in CREDITS.items()},
        "credits": {**CREDITS["credits"], "database_url": ledger_url},
        "kubernetes": {"public_url": stack.hub_url, "namespace": NAMESPACE,
                       "hub_image": f"{HUB_IMAGE}:0.1.0", "jwt_replicas": 2, "release_replicas": 2,
                       "drain_seconds": DRAIN_SECONDS},
    })


@pytest.fixture(scope="module")
def deployed(cluster: KubeCluster, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Deployed]:
    started = time.monotonic()
    base = tmp_path_factory.mktemp("rendered-services")
    ledger_url = postgres.create_database(f"rendered_{secrets.token_hex(4)}")
    hub_api_port = free_port()
    stack = make_stack(base, "hub", sections={
        "service": {"hub_api_port": hub_api_port},
        **{section: dict(values) for section, values in CREDITS.items()},
        "credits": {**CREDITS["credits"], "database_url": ledger_url},
    }, users=DEMO_USERS)
    rendered = render(operator_file(base / "operator.toml", stack, ledger_url))
    kinds = [(o["kind"], o["metadata"]["name"]) for o in rendered.objects]
    assert sorted(name for kind, name in kinds if kind == "Deployment") == \
        sorted(object_name(s) for s in SERVICES), kinds
    api_tokens = {service: secrets.token_hex(16) for service in SERVICES}
    deployed = Deployed(cluster=cluster, stack=stack, rendered=rendered, client=cluster.plane.admin_client(),
                        api_tokens=api_tokens, addresses={})
    created: list[tuple[str, str]] = []
    try:
        # Services first: their stand-in addresses are where the hub registers the services
        for manifest in rendered.objects:
            if manifest["kind"] in ("ConfigMap", "Service", "Role", "RoleBinding") and \
                    deployed.apply(manifest):
                created.append((manifest["kind"], manifest["metadata"]["name"]))
        deployed.addresses = {s: cluster.service_address(NAMESPACE, object_name(s)) for s in SERVICES}
        cluster.set_external_service(NAMESPACE, "hub", 8081, "127.0.0.1", hub_api_port)
        endpoints = {s: {"url": f"http://{deployed.addresses[s]}:{SERVICE_PORT}", "api_token": api_tokens[s]}
                     for s in SERVICES}
        endpoints_file = base / "endpoints.json"
        endpoints_file.write_text(json.dumps(endpoints, indent=1))
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(ENDPOINTS_ENV, str(endpoints_file))
            patch.setattr("tests.stack.notebooks_command", services_up_command)
            stack.start()
        hub_up = time.monotonic()

        # what the chart (`hub`) and the operator (`notebooks-oidc`, `notebooks-db`) would have made
        client_secret = (stack.data_dir / "secrets" / "hub_client_secret").read_text().strip()
        for name, data in {
            "hub": {f"hub.services.{s}.apiToken": token for s, token in api_tokens.items()},
            "notebooks-oidc": {"client-secret": client_secret},
            "notebooks-db": {"password": "unused-the-test-server-trusts"},
        }.items():
            deployed.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                            "stringData": data})
            created.append(("Secret", name))
        for manifest in rendered.objects:
            if manifest["kind"] == "Deployment":
                deployed.apply(manifest)
                created.append(("Deployment", manifest["metadata"]["name"]))
        try:
            wait_until(deployed.deployments_ready, 120, interval=0.5, what="every Deployment's pods Ready")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{deployed.diagnosis()}") from None
        ready = time.monotonic()
        wait_until(deployed.routed, 60, interval=0.5, what="the proxy's routes to the services")
        log.info("rendered services: hub up in %.1f s, every Deployment ready %.1f s later, routed %.1f s "
                 "later (%.1f s in all)", hub_up - started, ready - hub_up, time.monotonic() - ready,
                 time.monotonic() - started)
        yield deployed
    finally:
        stack.stop()
        for kind, name in reversed(created):
            deployed.client.delete(deployed.path(kind, name), params={"propagationPolicy": "Background"})
        cluster.remove_external_service(NAMESPACE, "hub", 8081)
        deployed.client.close()
        log.info("rendered services module: %.1f s with teardown", time.monotonic() - started)


def jwt_users(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(f"{stack.hub_url}/services/jwt/users", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)


def proxy_errors(stack: Stack) -> list[str]:
    """What the proxy logged about failed upstream requests."""
    return [line for line in stack.log().splitlines() if "ConfigProxy" in line and "error" in line.lower()]


def burst(stack: Stack, token: str) -> list[int]:
    """LOAD_REQUESTS requests to the JWT API at once: statuses."""
    with ThreadPoolExecutor(max_workers=LOAD_REQUESTS) as pool:
        return list(pool.map(lambda _: jwt_users(stack, token).status_code, range(LOAD_REQUESTS)))


@pytest.fixture(scope="module")
def oidc_token(deployed: Deployed) -> str:
    """alice's access token from the IdP, as `notebooks token` prints it."""
    return fetch_token(deployed.stack.data_dir, "alice", DEMO_PASSWORD)


def test_every_rendered_deployment_runs_ready_pods(deployed: Deployed) -> None:
    """Each pod of the rendered Deployments passes its readiness probe on the node (the JWT API twice),
    and the hub runs none of the services itself."""
    replicas = {s: len(deployed.ready_pods(s)) for s in SERVICES}
    assert replicas == {"jwt": 2, "tokens": 2, "credits": 1}
    for service in SERVICES:
        module = {"jwt": "notebooks_service.services.jwt", "tokens": "notebooks_service.tokens.release",
                  "credits": "notebooks_service.services.credits"}[service]
        assert deployed.stack.service_processes(module) == [], f"a local {service} process serves the hub"
        for pod in deployed.pods(service):
            container = pod["spec"]["containers"][0]
            assert container["image"].startswith(HUB_IMAGE)
            assert pod["status"]["containerStatuses"][0]["restartCount"] == 0, deployed.diagnosis()


def test_seed_snippet_through_the_proxy_reaches_the_jwt_pods(deployed: Deployed, oidc_token: str,
                                                            tmp_path: Path) -> None:
    """The seeds' requests snippet, as written except where the token file is, asks /services/jwt
    through the proxy; only the JWT API's pods can answer there."""
    token_file = tmp_path / "access_token"
    token_file.write_text(oidc_token)
    code = REQUESTS_SNIPPET.format(hub_url=deployed.stack.hub_url)
    assert "/var/run/secrets/oidc/access_token" in code
    namespace: dict[str, Any] = {}
    exec(code.replace("/var/run/secrets/oidc/access_token", str(token_file)), namespace)
    assert namespace["r"].status_code == 200
    assert [user["name"] for user in namespace["users"]] == ["alice"]
    minted = {pod: deployed.minted_for(pod, "alice") for pod in deployed.ready_pods("jwt")}
    assert sum(minted.values()) >= 1, f"no JWT pod logged alice's hub token: {minted}"


def test_two_jwt_replicas_share_the_load_and_survive_a_deleted_pod(deployed: Deployed,
                                                                   oidc_token: str) -> None:
    """Concurrent requests spread over both pods (each logs the hub token it mints for alice at its first
    request for her); with one pod deleted they keep succeeding, and the ReplicaSet's new pod serves too.

    Concurrent, because the Service (kube-proxy, and the node agent standing in for it) balances
    connections, not requests, and configurable-http-proxy keeps its upstream connections alive: one
    client asking in turn reuses one connection and so reaches one pod, and a new pod gets requests
    only once the proxy opens new connections."""
    before = deployed.ready_pods("jwt")
    assert len(before) == 2
    assert burst(deployed.stack, oidc_token) == [200] * LOAD_REQUESTS
    served = {pod: deployed.minted_for(pod, "alice") for pod in before}
    log.info("alice's hub tokens minted per JWT pod after %d concurrent requests: %s", LOAD_REQUESTS, served)
    assert all(count >= 1 for count in served.values()), f"a replica served nothing: {served}"
    logins = deployed.stack.log().count("Bearer-token login of alice by jwt")
    assert logins >= 2, f"the hub saw {logins} bearer-logins of alice (one per pod that served her)"

    deleted = before[0]
    deleted_path = f"/api/v1/namespaces/{NAMESPACE}/pods/{deleted}"
    answer = deployed.client.delete(deleted_path)
    assert answer.status_code == 200, answer.text
    started = time.monotonic()
    failed: list[tuple[float, int, int]] = []  # (seconds after the deletion, status, retry's status)
    answered = 0
    replacement: list[str] = []
    ready_after = gone_after = 0.0
    # requests in turn until the replacement is ready and the deleted pod has drained and gone
    while time.monotonic() - started < 90 and not (replacement and gone_after):
        status, answered = jwt_users(deployed.stack, oidc_token).status_code, answered + 1
        if status != 200:
            retry = jwt_users(deployed.stack, oidc_token).status_code
            failed.append((time.monotonic() - started, status, retry))
        if not replacement:
            replacement = [pod for pod in deployed.ready_pods("jwt") if pod not in before]
            ready_after = time.monotonic() - started
        if not gone_after and deployed.client.get(deleted_path).status_code == 404:
            gone_after = time.monotonic() - started
        time.sleep(0.2)
    assert replacement, f"no new JWT pod became ready: {deployed.diagnosis()}"
    assert gone_after >= DRAIN_SECONDS, f"the deleted pod was gone after {gone_after:.1f} s, before its drain"
    log.info("the replacement %s was ready %.1f s after %s was deleted, which drained and was gone after "
             "%.1f s; %d requests meanwhile, failed: %s", replacement[0], ready_after, deleted, gone_after,
             answered, failed)
    assert f"draining for {DRAIN_SECONDS:g} s" in deployed.container_log(deleted), "the pod drained"
    # Known limit (see the module's docstring): a connection the proxy left idle through the whole drain
    # is closed at its end, and a request the proxy sends over it at that moment gets 503
    # (configurable-http-proxy does not retry). Only that is tolerated: once, and a retry succeeds.
    assert all(status == 503 and retry == 200 for _, status, retry in failed) \
        and len(failed) <= 1, (failed, proxy_errors(deployed.stack))
    if failed:
        log.warning("a request on the proxy's kept-alive connection to the deleted pod failed: %s",
                    proxy_errors(deployed.stack))
    assert burst(deployed.stack, oidc_token) == [200] * LOAD_REQUESTS
    assert deleted not in deployed.ready_pods("jwt")
    log.info("the replacement served %d of alice's first requests through the proxy",
             deployed.minted_for(replacement[0], "alice"))
    # The proxy reuses its kept-alive connections to the surviving pod, so whether the new pod gets one
    # of them is up to chance; the Service gives it new connections in turn, as kube-proxy would.
    service = f"http://{deployed.addresses['jwt']}:{SERVICE_PORT}/services/jwt/users"
    direct = [httpx.get(service, headers={"Authorization": f"Bearer {oidc_token}"}, timeout=30).status_code
              for _ in range(4)]
    assert direct == [200] * 4
    assert deployed.minted_for(replacement[0], "alice") >= 1, "the new pod serves the Service's connections"


def test_credits_deployment_answers_and_charges_a_server_and_release_deployment_gives_its_token(
        deployed: Deployed) -> None:
    """alice's wallet status comes from the credits pod through the proxy; her running server is
    charged by it; the server fetches her token from the token release pods."""
    stack = deployed.stack
    browser, _ = browser_login(stack, "alice")
    token = hub_token(browser, stack, "alice")
    api = hub_api(stack, token)

    def balance() -> float:
        status = api.get(f"{stack.hub_url}/services/credits/api/status")
        assert status.status_code == 200, status.text
        return float(next(w for w in status.json()["wallets"] if w["wallet"] == "user:alice")["balance"])

    before = balance()
    assert before > 0
    response = api.post("/users/alice/server", json={"mount_access_token": True})
    assert response.status_code in (201, 202), response.text
    wait_until(lambda: (api.get("/users/alice").json()["servers"].get("") or {}).get("ready"), 120,
               what="alice's server")
    spent_from = time.monotonic()
    wait_until(lambda: balance() < before, 30, interval=1, what="the credits pod to charge alice's server")
    log.info("alice's wallet: %.2f before the server, %.2f %.1f s after it started", before, balance(),
             time.monotonic() - spent_from)

    # the panel's token, through the server extension and the token release Service's pods
    panel = httpx.get(f"{stack.hub_url}/user/alice/notebooks-token/token", timeout=30,
                      headers={"Authorization": f"token {token}"})
    assert panel.status_code == 200, panel.text
    assert verify_with_jwks(stack, panel.json()["access_token"])["preferred_username"] == "alice"
    released = [pod for pod in deployed.ready_pods("tokens")
                if "Released the token of alice to their server ''" in deployed.container_log(pod)]
    assert len(released) == 1, "one pod of the token release Deployment released it"

    # the credits page in the browser: the hub's OAuth login to the service, with the rendered client id
    # and callback, ends on the page the pod serves
    page = browser.get(f"{stack.hub_url}/services/credits/")
    assert page.status_code == 200 and str(page.url).startswith(f"{stack.hub_url}/services/credits/"), \
        (page.url, page.text[:500])
    assert "alice" in page.text

    stopped = api.delete("/users/alice/server")
    assert stopped.status_code in (202, 204), stopped.text
