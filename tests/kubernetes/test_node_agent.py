"""The node agent behaves like a kubelet for what the hub relies on: a pod created through the API runs
on its own address, sees its Secret volume at the container path, follows the Secret's changes, and
stops when the pod is deleted. The container serves its mounted directory over HTTP, so the test sees
exactly what a process in the pod sees."""

from __future__ import annotations

import base64
import ipaddress
import stat
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiException, CoreV1Api, V1ObjectMeta, V1Secret

from tests.kubernetes.cluster_session import NODE_NAME, SYNC_DELAY, KubeCluster
from tests.kubernetes.hub_access import NAMESPACE
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
