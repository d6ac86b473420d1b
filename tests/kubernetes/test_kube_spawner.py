"""KubeTokenSpawner's pods and stop against the test cluster: the pod it asks for (token volume only on
opt-in, sized by the rendered chart values' profiles), and a stop that removes the pod and the token
Secret even when RBAC refuses the Secret's deletion. (The Secret sink itself: test_secret_sink.py; whole
servers: test_kube_hub.py.)"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyterhub import orm
from kubernetes_asyncio.client import ApiException, CoreV1Api
from kubernetes_asyncio.config.kube_config import new_client_from_config
from traitlets.config import Config

from notebooks_service.kubernetes.render import render
from notebooks_service.tokens.kubernetes import (
    DEFAULT_MOUNT_PATH,
    KubeTokenSpawner,
    SecretSink,
)
from notebooks_service.tokens.mount_option import MOUNT_OPTION
from tests.kubernetes.chart_standin import apply_singleuser
from tests.kubernetes.cluster_session import KubeCluster
from tests.kubernetes.hub_access import NAMESPACE, extra_hub_account
from tests.kubernetes.pods import pod_gone, read_pod

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "kubernetes.toml"
FILES = {"access_token": "eyJ.access.alice", "id_token": "eyJ.id.alice"}


def kube_spawner(user_options: dict[str, object], config: Config | None = None) -> KubeTokenSpawner:
    config = config or Config()
    config.KubeTokenSpawner.namespace = NAMESPACE
    user = SimpleNamespace(name="alice", id=7, url="/user/alice/", escaped_name="alice")
    spawner = KubeTokenSpawner(config=config, user=user, orm_spawner=orm.Spawner(id=7, name=""),
                                _mock=True)
    spawner.user_options = user_options
    return spawner


async def test_pod_mounts_the_token_secret_read_only_when_the_owner_opted_in(
        hub_kubeconfig: KubeCluster) -> None:
    spawner = kube_spawner({MOUNT_OPTION: True})
    pod = await spawner.get_pod_manifest()
    volume = next(v for v in pod.spec.volumes if v.secret is not None)
    assert volume.secret.secret_name == spawner.token_secret_name == f"oidc-{spawner.pod_name}"
    assert volume.secret.optional is True, "a pod never waits for its token Secret"
    assert volume.secret.default_mode == 0o440
    notebook = pod.spec.containers[0]
    mount = next(m for m in notebook.volume_mounts if m.name == volume.name)
    assert (mount.mount_path, mount.read_only) == (DEFAULT_MOUNT_PATH, True)
    env = {e.name: e.value for e in notebook.env}
    assert env["OIDC_ACCESS_TOKEN_FILE"] == "/var/run/secrets/oidc/access_token"
    assert env["OIDC_ID_TOKEN_FILE"] == "/var/run/secrets/oidc/id_token"

    sink = spawner.token_sink
    assert isinstance(sink, SecretSink)
    assert (sink.namespace, sink.name) == (NAMESPACE, spawner.token_secret_name)
    assert sink.labels["hub.jupyter.org/username"] == "alice"


@pytest.mark.parametrize("user_options", [{}, {MOUNT_OPTION: False}, {MOUNT_OPTION: "true"}])
async def test_pod_has_no_token_volume_or_variables_by_default(
        hub_kubeconfig: KubeCluster, user_options: dict[str, object]) -> None:
    pod = await kube_spawner(user_options).get_pod_manifest()
    assert not [v for v in pod.spec.volumes or [] if v.secret is not None]
    notebook = pod.spec.containers[0]
    assert not [m for m in notebook.volume_mounts or [] if m.mount_path == DEFAULT_MOUNT_PATH]
    assert not [e for e in notebook.env if e.name.startswith("OIDC_")]


async def test_the_rendered_values_size_the_pod_by_the_chosen_credits_profile(
        hub_kubeconfig: KubeCluster) -> None:
    """`notebooks kubernetes values` of the example operator file, as the chart hands it to
    KubeSpawner: the profile the credits section chose sizes the pod (requests = limits, GPUs too),
    also when the request named none (the section's default, not KubeSpawner's)."""
    config = Config()
    apply_singleuser(config, render(EXAMPLE).values["singleuser"])
    for chosen, requested, (cpu, memory, gpus) in [
            ("gpu", {"profile": "gpu"}, (8.0, 32 * 1024**3, "1")),
            ("large", {}, (8.0, 32 * 1024**3, None))]:
        spawner = kube_spawner(requested, config)
        spawner.validated_options = {"profile": chosen, "wallet": "user:alice"}
        await spawner.load_user_options()
        assert spawner.user_options == requested, "the user's request is kept as they sent it"
        resources = (await spawner.get_pod_manifest()).spec.containers[0].resources
        for amounts in (resources.requests, resources.limits):
            assert (amounts["cpu"], amounts["memory"], amounts.get("nvidia.com/gpu")) == (cpu, memory, gpus)
    assert spawner.image == "registry.example.org/notebooks-user:0.1.0"
    assert spawner.token_mount_paths == ["/var/run/secrets/oidc", "/var/run/secrets/egi.eu"]


async def test_the_token_can_also_appear_where_egi_notebooks_expect_it(hub_kubeconfig: KubeCluster
                                                                      ) -> None:
    config = Config()
    config.KubeTokenSpawner.token_mount_paths = [DEFAULT_MOUNT_PATH, "/var/run/secrets/egi.eu"]
    spawner = kube_spawner({MOUNT_OPTION: True}, config)
    notebook = (await spawner.get_pod_manifest()).spec.containers[0]
    mounted = {m.mount_path for m in notebook.volume_mounts if m.name == "oidc-tokens"}
    assert mounted == {DEFAULT_MOUNT_PATH, "/var/run/secrets/egi.eu"}
    assert {e.name: e.value for e in notebook.env}["OIDC_ACCESS_TOKEN_FILE"] == \
        f"{DEFAULT_MOUNT_PATH}/access_token"


async def create_pod(spawner: KubeTokenSpawner, api: CoreV1Api) -> None:
    """The pod as KubeSpawner creates it, through the API as the hub."""
    await api.create_namespaced_pod(NAMESPACE, await spawner.get_pod_manifest())


async def test_stop_deletes_the_secret_and_the_pod(hub_kubeconfig: KubeCluster, hub_api: CoreV1Api,
                                                  admin_api: CoreV1Api) -> None:
    spawner = kube_spawner({MOUNT_OPTION: True})
    await spawner.token_sink.write(FILES)
    await create_pod(spawner, hub_api)
    await spawner.stop(now=True)
    await pod_gone(admin_api, NAMESPACE, spawner.pod_name)
    with pytest.raises(ApiException) as missing:
        await admin_api.read_namespaced_secret(spawner.token_secret_name, NAMESPACE)
    assert missing.value.status == 404


@pytest.fixture(scope="module")
def no_secret_delete_client(cluster: KubeCluster) -> str:
    """A hub account whose Role lacks `delete` on Secrets (e.g. an operator trimmed the chart's Role)."""
    return str(extra_hub_account(cluster.plane, "hub-no-secret-delete", [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list", "create", "delete"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "update"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "watch", "list"]}]))


async def test_a_refused_secret_deletion_never_keeps_the_pod_running(
        hub_kubeconfig: KubeCluster, no_secret_delete_client: str, admin_api: CoreV1Api) -> None:
    spawner = kube_spawner({MOUNT_OPTION: True})
    async with await new_client_from_config(config_file=no_secret_delete_client) as client:
        spawner.api = CoreV1Api(client)  # this spawner acts as the trimmed account
        await spawner.token_sink.write(FILES)
        await create_pod(spawner, spawner.api)
        with pytest.raises(ApiException) as refused:
            await spawner.token_sink.remove()
        assert refused.value.status == 403 and "cannot delete resource" in refused.value.body
        await spawner.stop(now=True)
    await pod_gone(admin_api, NAMESPACE, spawner.pod_name)
    assert await read_pod(admin_api, NAMESPACE, spawner.pod_name) is None, "stopped all the same"
    left = await admin_api.read_namespaced_secret(spawner.token_secret_name, NAMESPACE)
    assert left.metadata.name == spawner.token_secret_name, "RBAC really refused the deletion"
    await admin_api.delete_namespaced_secret(spawner.token_secret_name, NAMESPACE)
