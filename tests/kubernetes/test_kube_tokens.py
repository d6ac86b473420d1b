"""Token delivery on Kubernetes: the Secret sink against a Kubernetes API server (a fake on loopback,
the one component that cannot run here) and the pod KubeTokenSpawner asks for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from jupyterhub import orm
from kubernetes_asyncio.client import ApiClient, ApiException, Configuration, CoreV1Api
from traitlets.config import Config

from notebooks_service.auth.authenticator import NotebooksAuthenticator
from notebooks_service.tokens.kubernetes import (
    DEFAULT_MOUNT_PATH,
    SINK_LABEL,
    KubeTokenSpawner,
    SecretSink,
)
from notebooks_service.tokens.mount_option import MOUNT_OPTION
from tests.kubernetes.fake_api import FakeKubernetes

NAMESPACE = "jhub"
FILES = {"access_token": "eyJ.access.alice", "id_token": "eyJ.id.alice"}


@pytest.fixture
async def sink(fresh_api: FakeKubernetes) -> AsyncIterator[SecretSink]:
    async with ApiClient(Configuration(host=fresh_api.url)) as client:
        yield SecretSink(CoreV1Api(client), NAMESPACE, "jupyter-alice-oidc",
                         {"hub.jupyter.org/username": "alice"})


async def test_write_creates_then_replaces_the_secret(sink: SecretSink, fresh_api: FakeKubernetes) -> None:
    assert await sink.read("access_token") is None  # no Secret yet
    await sink.write(FILES)
    stored = fresh_api.secrets[(NAMESPACE, "jupyter-alice-oidc")]
    assert stored["type"] == "Opaque"
    assert stored["metadata"]["labels"] == {"hub.jupyter.org/username": "alice", **SINK_LABEL}
    assert fresh_api.files("jupyter-alice-oidc", NAMESPACE) == FILES
    assert await sink.read("id_token") == FILES["id_token"]

    await sink.write({"access_token": "eyJ.access.newer"})  # a refresh without an ID token
    assert fresh_api.files("jupyter-alice-oidc", NAMESPACE) == {"access_token": "eyJ.access.newer"}
    assert await sink.read("id_token") is None
    methods = [method for method, _ in fresh_api.requests]
    assert methods.count("POST") == 1, "created once, replaced afterwards"


async def test_removing_the_files_deletes_the_secret(sink: SecretSink, fresh_api: FakeKubernetes
                                                     ) -> None:
    await sink.write(FILES)
    await sink.remove()
    # the pod's volume is optional: the kubelet empties the directory of a deleted Secret
    assert (NAMESPACE, "jupyter-alice-oidc") not in fresh_api.secrets
    assert await sink.read("access_token") is None
    await sink.remove()  # idempotent
    await sink.write(FILES)  # a refresh after a share ends creates it again
    assert fresh_api.files("jupyter-alice-oidc", NAMESPACE) == FILES


async def test_api_errors_reach_the_caller_and_change_nothing(
        sink: SecretSink, fresh_api: FakeKubernetes) -> None:
    await sink.write(FILES)
    fresh_api.fail_next = 403
    with pytest.raises(ApiException) as refused:
        await sink.write({"access_token": "eyJ.access.newer"})
    assert refused.value.status == 403
    assert fresh_api.files("jupyter-alice-oidc", NAMESPACE) == FILES
    fresh_api.fail_next = 500
    with pytest.raises(ApiException):
        await sink.read("access_token")


def kube_spawner(user_options: dict[str, object], config: Config | None = None) -> KubeTokenSpawner:
    config = config or Config()
    config.KubeTokenSpawner.namespace = NAMESPACE
    user = SimpleNamespace(name="alice", id=7, url="/user/alice/", escaped_name="alice")
    spawner = KubeTokenSpawner(config=config, user=user, orm_spawner=orm.Spawner(id=7, name=""),
                                _mock=True)
    spawner.user_options = user_options
    return spawner


async def test_pod_mounts_the_token_secret_read_only_when_the_owner_opted_in(
        kubernetes_api: FakeKubernetes) -> None:
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
        kubernetes_api: FakeKubernetes, user_options: dict[str, object]) -> None:
    pod = await kube_spawner(user_options).get_pod_manifest()
    assert not [v for v in pod.spec.volumes or [] if v.secret is not None]
    notebook = pod.spec.containers[0]
    assert not [m for m in notebook.volume_mounts or [] if m.mount_path == DEFAULT_MOUNT_PATH]
    assert not [e for e in notebook.env if e.name.startswith("OIDC_")]


async def test_the_chart_values_configure_this_spawner(kubernetes_api: FakeKubernetes) -> None:
    """deploy/kubernetes/values.yaml's hub config, run as the chart runs it, yields the spawn option."""
    values = yaml.safe_load((Path(__file__).parents[2] / "deploy/kubernetes/values.yaml").read_text())
    config = Config()
    for snippet in values["hub"]["extraConfig"].values():
        exec(snippet, {"c": config})
    assert config.JupyterHub.spawner_class is KubeTokenSpawner
    assert config.JupyterHub.authenticator_class is NotebooksAuthenticator
    assert config.NotebooksAuthenticator.refresh_margin_fraction == 0.5
    spawner = KubeTokenSpawner(config=config, _mock=True)
    form = await spawner.render_options_form()
    assert f'name="{MOUNT_OPTION}"' in form and "checked" not in form
    spawner.user_options = spawner.options_from_form({MOUNT_OPTION: ["on"]})
    assert spawner.validated_user_options() == {MOUNT_OPTION: True}
    assert spawner.token_mount_paths == ["/var/run/secrets/oidc", "/var/run/secrets/egi.eu"]


async def test_the_token_can_also_appear_where_egi_notebooks_expect_it(kubernetes_api: FakeKubernetes
                                                                      ) -> None:
    config = Config()
    config.KubeTokenSpawner.token_mount_paths = [DEFAULT_MOUNT_PATH, "/var/run/secrets/egi.eu"]
    spawner = kube_spawner({MOUNT_OPTION: True}, config)
    notebook = (await spawner.get_pod_manifest()).spec.containers[0]
    mounted = {m.mount_path for m in notebook.volume_mounts if m.name == "oidc-tokens"}
    assert mounted == {DEFAULT_MOUNT_PATH, "/var/run/secrets/egi.eu"}
    assert {e.name: e.value for e in notebook.env}["OIDC_ACCESS_TOKEN_FILE"] == \
        f"{DEFAULT_MOUNT_PATH}/access_token"


async def test_stop_deletes_the_secret_and_the_pod(fresh_api: FakeKubernetes) -> None:
    spawner = kube_spawner({MOUNT_OPTION: True})
    await spawner.token_sink.write(FILES)
    await spawner.stop(now=True)
    assert (NAMESPACE, spawner.token_secret_name) not in fresh_api.secrets
    assert ("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{spawner.pod_name}") in fresh_api.requests


async def test_a_refused_secret_deletion_never_keeps_the_pod_running(fresh_api: FakeKubernetes
                                                                     ) -> None:
    spawner = kube_spawner({MOUNT_OPTION: True})
    await spawner.token_sink.write(FILES)
    fresh_api.requests.clear()
    fresh_api.fail_next = 403  # e.g. the hub's Role lacks `delete` on Secrets
    await spawner.stop(now=True)
    pod_deleted = ("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{spawner.pod_name}")
    assert pod_deleted in fresh_api.requests, "the pod was stopped all the same"

