"""The node agent behaves like a kubelet for what the hub relies on: a pod created through the API runs
on its own address, sees its Secret volume at the container path, follows the Secret's changes, and
stops when the pod is deleted. The container serves its mounted directory over HTTP, so the test sees
exactly what a process in the pod sees.

And like kube-proxy and cluster DNS for what our services' Deployments rely on: pods of the hub image run
from the hub's environment, a Service spreads connections over the ready pods of a Deployment, pods reach
Services (and a host process mapped as an external service) by name, a deleted pod gets no more
connections and a Service without ready pods refuses them."""

from __future__ import annotations

import base64
import http.server
import ipaddress
import itertools
import json
import stat
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from kubernetes_asyncio.client import ApiException, CoreV1Api, V1ObjectMeta, V1Secret

from tests.kubernetes.cluster_session import HUB_ENV, HUB_IMAGE, NODE_NAME, SYNC_DELAY, KubeCluster
from tests.kubernetes.hub_access import NAMESPACE, create
from tests.kubernetes.pods import eventually, http_answer, pod_gone, read_pod, running_pod, served

MOUNT = "/var/run/secrets/oidc"


def file_server_pod(name: str, secret: str) -> dict[str, Any]:
    """A pod serving /var/run (its optional Secret volume and a ConfigMap volume) on $(POD_IP):8888, from
    the user environment's Python."""
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 100},
            "containers": [{
                "name": "notebook", "image": "registry.example.org/notebooks-user:0.1.0",
                "command": ["python", "-m", "http.server", "--bind", "$(POD_IP)", "8888",
                            "--directory", "/var/run"],
                "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                "volumeMounts": [{"name": "tokens", "mountPath": MOUNT, "readOnly": True},
                                 {"name": "settings", "mountPath": "/var/run/settings", "readOnly": True}],
            }],
            "volumes": [{"name": "tokens", "secret": {"secretName": secret, "optional": True,
                                                      "defaultMode": 0o440}},
                        {"name": "settings", "configMap": {"name": "settings", "optional": True,
                                                           "items": [{"key": "motd", "path": "motd.txt"}]}}],
        },
    }


def secret(name: str, token: str) -> V1Secret:
    return V1Secret(metadata=V1ObjectMeta(name=name),
                    data={"access_token": base64.b64encode(token.encode()).decode()})


async def test_a_pod_sees_its_volumes_follow_their_objects(hub_api: CoreV1Api, admin_api: CoreV1Api,
                                                          cluster: KubeCluster) -> None:
    name, secret_name = "file-server", "oidc-file-server"
    await hub_api.create_namespaced_secret(NAMESPACE, secret(secret_name, "eyJ.first"))
    await hub_api.create_namespaced_pod(NAMESPACE, file_server_pod(name, secret_name))
    pod = await running_pod(hub_api, NAMESPACE, name)
    assert pod.spec.node_name == NODE_NAME
    assert ipaddress.ip_address(pod.status.pod_ip).is_loopback and pod.status.pod_ip != "127.0.0.1"
    assert pod.status.container_statuses[0].ready is True
    url = f"http://{pod.status.pod_ip}:8888/secrets/oidc/access_token"
    assert (await served(url)).text == "eyJ.first"  # read by uid 1000 through the fsGroup
    projected = (cluster.pod_volume(NAMESPACE, name, "tokens") / "access_token").stat()
    assert (stat.S_IMODE(projected.st_mode), projected.st_uid, projected.st_gid) == (0o440, 0, 100)

    await hub_api.replace_namespaced_secret(secret_name, NAMESPACE, secret(secret_name, "eyJ.second"))
    await eventually(lambda: http_answer(url), lambda a: getattr(a, "text", "") == "eyJ.second",
                     10 * SYNC_DELAY, "the refreshed token in the pod")

    await hub_api.delete_namespaced_secret(secret_name, NAMESPACE)  # the volume is optional
    await served(url, status=404, timeout=10 * SYNC_DELAY)

    motd = f"http://{pod.status.pod_ip}:8888/settings/motd.txt"
    await served(motd, status=404)  # an optional volume of an absent ConfigMap is empty
    await admin_api.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "settings"},
                                                             "data": {"motd": "hello", "other": "x"}})
    await eventually(lambda: http_answer(motd), lambda a: getattr(a, "text", "") == "hello",
                     10 * SYNC_DELAY, "the ConfigMap's key at its item path")
    await admin_api.delete_namespaced_config_map("settings", NAMESPACE)

    await hub_api.delete_namespaced_pod(name, NAMESPACE)
    await pod_gone(hub_api, NAMESPACE, name)
    assert isinstance(await http_answer(url), str), "the container stopped with its pod"


async def test_the_hub_may_not_change_running_pods_or_see_nodes(hub_api: CoreV1Api) -> None:
    """Neither the chart's Role nor ours grants `patch` on pods or any cluster-wide read."""
    await hub_api.create_namespaced_pod(NAMESPACE, file_server_pod("patch-target", "oidc-none"))
    try:
        with pytest.raises(ApiException) as refused:
            await hub_api.patch_namespaced_pod("patch-target", NAMESPACE,
                                               {"metadata": {"labels": {"owner": "mallory"}}})
        assert refused.value.status == 403 and "cannot patch resource" in refused.value.body
        with pytest.raises(ApiException) as refused:
            await hub_api.list_node()
        assert refused.value.status == 403 and "cannot list resource \\\"nodes\\\"" in refused.value.body
    finally:
        await hub_api.delete_namespaced_pod("patch-target", NAMESPACE)
    await pod_gone(hub_api, NAMESPACE, "patch-target")


async def test_what_the_agent_cannot_do_fails_the_pod_instead_of_half_running_it(admin_api: CoreV1Api
                                                                                 ) -> None:
    pod = file_server_pod("host-path", "oidc-none")
    pod["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/etc"}})
    await admin_api.create_namespaced_pod(NAMESPACE, pod)
    failed = await eventually(lambda: read_pod(admin_api, NAMESPACE, "host-path"),
                              lambda p: p is not None and p.status.phase == "Failed", 30, "the pod to fail")
    assert failed is not None and failed.status.reason == "UnsupportedByNodeAgent"
    assert "volume host" in failed.status.message
    await admin_api.delete_namespaced_pod("host-path", NAMESPACE)
    await pod_gone(admin_api, NAMESPACE, "host-path")


# A pod of the hub image answering who it is (pod name from its hostname, uid, the environment its python
# runs from) and, at /fetch?url=..., what it gets from a URL itself: the pod's view of names and Services.
# It listens on 0.0.0.0 as our services do; two replicas share the port, each on its own pod IP.
WHOAMI = """
import http.server, json, os, socket, sys, urllib.request
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        answer = {"pod": socket.gethostname(), "uid": os.getuid(), "prefix": sys.prefix}
        if self.path.startswith("/fetch?url="):
            url = urllib.parse.unquote(self.path.split("=", 1)[1])
            try:
                answer["fetched"] = urllib.request.urlopen(url, timeout=5).read().decode()
            except OSError as error:
                answer["error"] = repr(error)
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""
APP = "whoami"
OTHER_NAMESPACE = "elsewhere"


def whoami_objects(replicas: int, app: str = APP) -> list[dict[str, Any]]:
    """A Deployment shaped like our rendered ones (hub image, `python3`, the same security context and
    resources, a named port) and a Service whose port 80 leads to the named port."""
    labels = {"app.kubernetes.io/name": app}
    container = {
        "name": app, "image": f"{HUB_IMAGE}:0.1.0", "command": ["python3", "-c", WHOAMI],
        "ports": [{"name": "http", "containerPort": 8000}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "labels": labels},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [container], "automountServiceAccountToken": False,
                                        "terminationGracePeriodSeconds": 1,
                                        "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["alias.test"]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": app},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    ]


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def whoami_pods(client: httpx.Client, app: str = APP) -> dict[str, str]:
    """Name → pod IP of the Deployment's ready pods that are not being deleted."""
    pods = client.get(f"/api/v1/namespaces/{NAMESPACE}/pods",
                      params={"labelSelector": f"app.kubernetes.io/name={app}"}).json()["items"]
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in pods
            if ready(p) and "deletionTimestamp" not in p["metadata"]}


def wait_for(probe: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)
    return result


def answer(url: str) -> dict[str, Any]:
    """One request on a connection of its own (the Service picks a pod per connection)."""
    with httpx.Client(timeout=10) as client:
        result: dict[str, Any] = client.get(url).raise_for_status().json()
        return result


def _get(url: str) -> httpx.Response | str:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError as error:
        return repr(error)


@pytest.fixture(scope="module")
def whoami(cluster: KubeCluster) -> Iterator[dict[str, str]]:
    """The Deployment (2 replicas) and its Service; yields the running pods, name → IP."""
    with cluster.plane.admin_client() as client:
        for manifest in whoami_objects(2):
            create(client, NAMESPACE, manifest)
        yield wait_for(lambda: (found if len(found := whoami_pods(client)) == 2 else None),
                       "two whoami pods ready (their readiness probe answered)")
        client.delete(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{APP}",
                      params={"propagationPolicy": "Background"})
        client.delete(f"/api/v1/namespaces/{NAMESPACE}/services/{APP}")


def test_a_service_spreads_connections_over_the_pods_of_a_hub_image_deployment(
        cluster: KubeCluster, whoami: dict[str, str]) -> None:
    address = cluster.service_address(NAMESPACE, APP)
    assert ipaddress.ip_address(address) in ipaddress.ip_network("127.11.0.0/16")
    # the stand-in learns of ready pods on its own poll, a moment after the API says they are ready
    wait_for(lambda: {answer(f"http://{address}:80/")["pod"] for _ in range(4)} == set(whoami),
             "both replicas answering through the Service", timeout=10)
    answers = [answer(f"http://{address}:80/") for _ in range(6)]
    assert {a["pod"] for a in answers} == set(whoami), "both replicas answer through the Service"
    assert all(a["pod"] != b["pod"] for a, b in itertools.pairwise(answers)), "round-robin"
    assert {(a["uid"], a["prefix"]) for a in answers} == {(1000, str(HUB_ENV))}, \
        "the hub image runs from the hub's environment, as runAsUser"
    for name, ip in whoami.items():  # each replica listens on its own pod IP only
        assert answer(f"http://{ip}:8000/")["pod"] == name


def test_pods_find_services_by_name_through_their_hosts_file(cluster: KubeCluster,
                                                              whoami: dict[str, str]) -> None:
    name, ip = next(iter(whoami.items()))
    for url in (f"http://{APP}/", f"http://{APP}.{NAMESPACE}.svc.cluster.local:80/"):
        seen = answer(f"http://{ip}:8000/fetch?url={quote(url)}")
        assert seen["pod"] == name and "error" not in seen, seen
        assert json.loads(seen["fetched"])["pod"] in whoami

    hosts = cluster.pod_hosts(NAMESPACE, name)
    address = cluster.service_address(NAMESPACE, APP)
    lines = hosts.read_text().splitlines()
    assert f"{ip}\t{name}" in lines
    fqdn = f"{APP}.{NAMESPACE}.svc"
    assert f"{address}\t{APP} {APP}.{NAMESPACE} {fqdn} {fqdn}.cluster.local" in lines
    assert "127.0.0.1\talias.test" in lines, "the pod's hostAliases"

    with cluster.plane.admin_client() as client:  # a Service created later, in another namespace
        create(client, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OTHER_NAMESPACE}})
        create(client, OTHER_NAMESPACE, whoami_objects(0)[1])
        other = cluster.service_address(OTHER_NAMESPACE, APP)
        wait_for(lambda: f"{other}\t{APP}.{OTHER_NAMESPACE}" in hosts.read_text(),
                 "the hosts file rewritten with the new Service", 10)
        assert f"{other}\t{APP}\t" not in hosts.read_text(), "short names are the pod's own namespace's"
        client.delete(f"/api/v1/namespaces/{OTHER_NAMESPACE}/services/{APP}")
        wait_for(lambda: f"{APP}.{OTHER_NAMESPACE}" not in hosts.read_text(), "the Service's name gone", 10)


class _Fixed(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.text.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def host_server(text: str) -> http.server.ThreadingHTTPServer:
    """A process on the host (as the tests' hub is) answering `text` on 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    server.text = text  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_an_external_service_leads_pods_and_the_host_to_a_host_process(cluster: KubeCluster,
                                                                       whoami: dict[str, str]) -> None:
    first, second = host_server("first hub"), host_server("second hub")
    name, ip = next(iter(whoami.items()))
    try:
        address = cluster.set_external_service(NAMESPACE, "host-api", 8081, "127.0.0.1",
                                               first.server_address[1])
        from_pod = f"http://{ip}:8000/fetch?url={quote('http://host-api:8081/hub/api')}"
        assert answer(from_pod).get("fetched") == "first hub"
        assert httpx.get(f"http://{address}:8081/", timeout=5).text == "first hub"
        assert f"{address}\thost-api host-api.{NAMESPACE}" in cluster.pod_hosts(NAMESPACE, name).read_text()

        cluster.set_external_service(NAMESPACE, "host-api", 8081, "127.0.0.1", second.server_address[1])
        assert answer(from_pod).get("fetched") == "second hub", "the mapping changed while pods run"
    finally:
        cluster.remove_external_service(NAMESPACE, "host-api", 8081)
        first.shutdown()
        second.shutdown()
    wait_for(lambda: f"{NAMESPACE}/host-api" not in cluster.service_names(), "the mapping removed", 10)


def test_a_deleted_pod_gets_no_connections_and_no_ready_pod_means_refused(cluster: KubeCluster,
                                                                          whoami: dict[str, str]) -> None:
    address = cluster.service_address(NAMESPACE, APP)
    deleted = sorted(whoami)[0]
    with cluster.plane.admin_client() as client:
        client.delete(f"/api/v1/namespaces/{NAMESPACE}/pods/{deleted}").raise_for_status()
        wait_for(lambda: client.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{deleted}").status_code == 404,
                 "the pod deleted", 30)
        answers = {answer(f"http://{address}:80/")["pod"] for _ in range(6)}
        assert deleted not in answers and answers <= set(whoami) | set(whoami_pods(client)), answers

        client.patch(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{APP}/scale",
                     json={"spec": {"replicas": 0}},
                     headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
        wait_for(lambda: not client.get(f"/api/v1/namespaces/{NAMESPACE}/pods", params={
            "labelSelector": f"app.kubernetes.io/name={APP}"}).json()["items"], "every pod gone", 30)
    refused = _get(f"http://{address}:80/")
    assert isinstance(refused, str), refused
    assert any(kind in refused for kind in ("RemoteProtocolError", "ReadError", "ConnectError")), refused


def test_a_pod_that_fails_its_readiness_probe_runs_but_gets_no_connections(cluster: KubeCluster) -> None:
    """Its probe asks a port nobody listens on: Running, never Ready, and its Service refuses."""
    deployment, service = whoami_objects(1, "unready")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"] = {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 1}
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"
    with cluster.plane.admin_client() as client:
        create(client, NAMESPACE, deployment)
        create(client, NAMESPACE, service)
        try:
            selector = {"labelSelector": "app.kubernetes.io/name=unready"}
            pod = wait_for(lambda: next((p for p in client.get(path, params=selector).json()["items"]
                                         if p["status"].get("phase") == "Running"), None), "the pod running")
            address = cluster.service_address(NAMESPACE, "unready")
            wait_for(lambda: not isinstance(_get(f"http://{pod['status']['podIP']}:8000/"), str),
                     "its server listening", 30)
            time.sleep(2)  # two more probe periods
            pod = client.get(f"{path}/{pod['metadata']['name']}").json()
            assert not ready(pod) and pod["status"]["containerStatuses"][0]["ready"] is False
            assert isinstance(_get(f"http://{address}:80/"), str), "no ready pod: the Service refuses"
        finally:
            client.delete(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/unready",
                          params={"propagationPolicy": "Background"})
            client.delete(f"/api/v1/namespaces/{NAMESPACE}/services/unready")


def test_a_container_that_exits_is_restarted_in_its_pod(cluster: KubeCluster) -> None:
    """`restartPolicy: Always` (the default, and a Deployment's): the first run exits 3, the second finds
    its emptyDir's mark and serves, in the same pod, at the same address; the status says so."""
    code = ("import os, sys\n"
            "if not os.path.exists('/tmp/data/ran'):\n"
            "    open('/tmp/data/ran', 'w').close()\n"
            "    sys.exit(3)\n" + WHOAMI)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "comes-back"},
           "spec": {"automountServiceAccountToken": False, "terminationGracePeriodSeconds": 1,
                    "securityContext": {"runAsUser": 1000},
                    "containers": [{"name": "main", "image": f"{HUB_IMAGE}:0.1.0",
                                    "command": ["python3", "-c", code],
                                    "volumeMounts": [{"name": "data", "mountPath": "/tmp/data"}]}],
                    "volumes": [{"name": "data", "emptyDir": {}}]}}
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"
    with cluster.plane.admin_client() as client:
        client.post(path, json=pod).raise_for_status()
        try:
            restarted = wait_for(lambda: (p if (p := client.get(f"{path}/comes-back").json())["status"].get(
                "containerStatuses", [{}])[0].get("restartCount") == 1 and ready(p) else None),
                "the container restarted and ready", 30)
            status = restarted["status"]["containerStatuses"][0]
            assert status["lastState"]["terminated"]["exitCode"] == 3 and "running" in status["state"]
            assert restarted["status"]["phase"] == "Running"
            ip = restarted["status"]["podIP"]
            served_by = wait_for(lambda: (r.json() if not isinstance(r := _get(f"http://{ip}:8000/"), str)
                                          else None), "the second run serving", 30)
            assert served_by["pod"] == "comes-back"
        finally:
            client.delete(f"{path}/comes-back")


def test_a_pod_waits_for_the_secret_key_its_env_names(cluster: KubeCluster) -> None:
    """As with a kubelet, objects may come in any order: Pending with CreateContainerConfigError while
    the key is missing, then the container runs with the value (it exits 0 only if it got it)."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "needs-key"},
           "spec": {"automountServiceAccountToken": False, "restartPolicy": "Never",
                    "securityContext": {"runAsUser": 1000},
                    "containers": [{"name": "main", "image": f"{HUB_IMAGE}:0.1.0", "command": [
                        "python3", "-c", "import os, sys; sys.exit(os.environ['API_TOKEN'] != 's3cret')"],
                        "env": [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {
                            "name": "later", "key": "hub.services.jwt.apiToken"}}}]}]}}
    path = f"/api/v1/namespaces/{NAMESPACE}"
    with cluster.plane.admin_client() as client:
        client.post(f"{path}/pods", json=pod).raise_for_status()
        try:
            waiting = wait_for(lambda: (p if (p := client.get(f"{path}/pods/needs-key").json())["status"].get(
                "containerStatuses") else None), "the pod waiting for its key", 30)
            assert waiting["status"]["phase"] == "Pending"
            state = waiting["status"]["containerStatuses"][0]["state"]["waiting"]
            assert state["reason"] == "CreateContainerConfigError", state
            assert "hub.services.jwt.apiToken" in state["message"], state
            client.post(f"{path}/secrets", json={"metadata": {"name": "later"}, "stringData": {
                "hub.services.jwt.apiToken": "s3cret"}}).raise_for_status()
            done = wait_for(lambda: (p if (p := client.get(f"{path}/pods/needs-key").json())["status"].get(
                "phase") in ("Succeeded", "Failed") else None), "the container to run and exit", 30)
            assert done["status"]["phase"] == "Succeeded", done["status"]
        finally:
            client.delete(f"{path}/pods/needs-key")
            client.delete(f"{path}/secrets/later")
