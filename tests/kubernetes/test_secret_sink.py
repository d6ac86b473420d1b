"""The token Secret of a server, written by the hub as its ServiceAccount against the real API server:
what our Roles allow works, and what they do not is refused by the API server's RBAC."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio.client import ApiException, CoreV1Api
from kubernetes_asyncio.config.kube_config import new_client_from_config

from notebooks_service.tokens.kubernetes import SINK_LABEL, SecretSink
from tests.kubernetes.cluster_session import KubeCluster
from tests.kubernetes.hub_access import NAMESPACE, extra_hub_account

FILES = {"access_token": "eyJ.access.alice", "id_token": "eyJ.id.alice"}
LABELS = {"hub.jupyter.org/username": "alice"}


async def stored_files(admin_api: CoreV1Api, name: str) -> dict[str, str] | None:
    try:
        secret = await admin_api.read_namespaced_secret(name, NAMESPACE)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}


@pytest.fixture
async def sink(hub_api: CoreV1Api, request: pytest.FixtureRequest) -> AsyncIterator[SecretSink]:
    name = f"oidc-{request.node.name.replace('_', '-')[:40].strip('-')}"
    yield SecretSink(hub_api, NAMESPACE, name, LABELS)
    await SecretSink(hub_api, NAMESPACE, name, LABELS).remove()


async def test_write_creates_then_replaces_the_secret(sink: SecretSink, admin_api: CoreV1Api) -> None:
    assert await sink.read("access_token") is None  # no Secret yet
    await sink.write(FILES)
    secret = await admin_api.read_namespaced_secret(sink.name, NAMESPACE)
    assert secret.type == "Opaque"
    assert secret.metadata.labels == {**LABELS, **SINK_LABEL}
    assert await stored_files(admin_api, sink.name) == FILES
    assert await sink.read("id_token") == FILES["id_token"]
    created = secret.metadata.uid

    await sink.write({"access_token": "eyJ.access.newer"})  # a refresh without an ID token
    replaced = await admin_api.read_namespaced_secret(sink.name, NAMESPACE)
    assert replaced.metadata.uid == created, "replaced in place, not deleted and created again"
    assert int(replaced.metadata.resource_version) > int(secret.metadata.resource_version)
    assert await stored_files(admin_api, sink.name) == {"access_token": "eyJ.access.newer"}
    assert await sink.read("id_token") is None


async def test_removing_the_files_deletes_the_secret(sink: SecretSink, admin_api: CoreV1Api) -> None:
    await sink.write(FILES)
    await sink.remove()
    assert await stored_files(admin_api, sink.name) is None
    assert await sink.read("access_token") is None
    await sink.remove()  # idempotent: the API server's 404 is not an error
    await sink.write(FILES)  # a refresh after a share ends creates it again
    assert await stored_files(admin_api, sink.name) == FILES


@pytest.fixture(scope="module")
def chart_role_only_kubeconfig(cluster: KubeCluster) -> str:
    """A hub account bound to the chart's Role alone, without the rendered token Role."""
    return str(extra_hub_account(cluster.plane, "hub-chart-role-only"))


async def test_without_our_role_writing_the_token_is_forbidden_by_the_api_server(
        chart_role_only_kubeconfig: str, sink: SecretSink, admin_api: CoreV1Api) -> None:
    """The chart's Role has no `update` on Secrets, and the sink writes by replacing (creating only
    on 404): RBAC answers 403 before the API server looks for the Secret, so without
    token-secrets-rbac.yaml not even the first token reaches the server, nor does a refresh."""
    async with await new_client_from_config(config_file=chart_role_only_kubeconfig) as client:
        chart_only = SecretSink(CoreV1Api(client), NAMESPACE, sink.name, LABELS)
        with pytest.raises(ApiException) as refused:
            await chart_only.write(FILES)
        assert await stored_files(admin_api, sink.name) is None
        await sink.write(FILES)  # as the real hub account
        with pytest.raises(ApiException) as refused_refresh:
            await chart_only.write({"access_token": "eyJ.access.newer"})
        assert await chart_only.read("access_token") == FILES["access_token"]  # `get` is the chart's
    for error in (refused.value, refused_refresh.value):
        assert error.status == 403
        assert '"reason":"Forbidden"' in error.body
        assert ('User \\"system:serviceaccount:jhub:hub-chart-role-only\\" cannot update resource '
                '\\"secrets\\"') in error.body
    assert await stored_files(admin_api, sink.name) == FILES


async def test_the_hub_cannot_touch_secrets_outside_its_namespace(hub_api: CoreV1Api) -> None:
    outside = SecretSink(hub_api, "default", "oidc-jupyter-alice", LABELS)
    for attempt in (outside.write(FILES), outside.read("access_token"), outside.remove()):
        with pytest.raises(ApiException) as refused:
            await attempt
        assert refused.value.status == 403, refused.value.body
