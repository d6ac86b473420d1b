"""Token delivery for Kubernetes servers: a Secret per server, mounted read-only at /var/run/secrets/oidc
(and any other `token_mount_paths`).

The hub writes the Secret; the kubelet projects it into the running pod and replaces the files
atomically (a symlink swap) when the Secret changes, so the server never reads half a token. The
kubelet's sync period (about a minute by default) delays every change: operators keep
`oidc.refresh_margin_fraction` large enough that a refreshed token lands before the old one expires
(docs/tokens.md, "Kubernetes").
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from kubernetes_asyncio.client import (
    ApiException,
    CoreV1Api,
    V1ObjectMeta,
    V1Secret,
    V1SecretVolumeSource,
    V1Volume,
    V1VolumeMount,
)
from kubespawner import KubeSpawner
from traitlets import List, Unicode

from notebooks_service.spawner.options import SpawnOptionsMixin
from notebooks_service.tokens.delivery import TokenDeliveryMixin
from notebooks_service.tokens.mount_option import wants_token
from notebooks_service.tokens.sink import TOKEN_FILES

log = logging.getLogger(__name__)

MOUNT_PATHS = ["/var/run/secrets/oidc", "/var/run/secrets/egi.eu"]
"""Where the seeds' notebooks read the token (`/var/run/secrets/oidc/access_token`), and where notebooks
written for EGI read it; the first is `$OIDC_ACCESS_TOKEN_FILE`'s directory."""
DEFAULT_MOUNT_PATH = MOUNT_PATHS[0]
VOLUME_NAME = "oidc-tokens"
FILE_MODE = 0o440
"""Owner and group read: the pod's fsGroup (KubeSpawner's `fs_gid`) lets a non-root notebook user read."""
SINK_LABEL = {"app.kubernetes.io/component": "notebooks-oidc-tokens"}


class SecretSink:
    """The token files of one server as the data of one Kubernetes Secret.

    Removing the files deletes the Secret: the pod's volume is optional, so the kubelet then empties
    the mounted directory at its next sync; a later write creates the Secret again.
    """

    def __init__(self, api: CoreV1Api, namespace: str, name: str, labels: dict[str, str],
                 mount_path: str = DEFAULT_MOUNT_PATH) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.labels = {**labels, **SINK_LABEL}
        self.mount_path = mount_path

    @property
    def server_path(self) -> str:
        return self.mount_path

    def _secret(self, files: dict[str, str]) -> V1Secret:
        data = {name: base64.b64encode(files[name].encode()).decode()
                for name in TOKEN_FILES if name in files}
        return V1Secret(metadata=V1ObjectMeta(name=self.name, labels=self.labels), type="Opaque", data=data)

    async def write(self, files: dict[str, str]) -> None:
        secret = self._secret(files)
        try:
            await self.api.replace_namespaced_secret(self.name, self.namespace, secret)
        except ApiException as error:
            if error.status != 404:
                raise
            await self.api.create_namespaced_secret(self.namespace, secret)

    async def read(self, name: str) -> str | None:
        try:
            secret = await self.api.read_namespaced_secret(self.name, self.namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        encoded = (secret.data or {}).get(name)
        return None if encoded is None else base64.b64decode(encoded).decode()

    async def remove(self) -> None:
        try:
            await self.api.delete_namespaced_secret(self.name, self.namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            return
        log.info("Deleted the token Secret %s/%s", self.namespace, self.name)


class KubeTokenSpawner(TokenDeliveryMixin, SpawnOptionsMixin, KubeSpawner):
    """KubeSpawner with the spawn options of the service and the owner's tokens in a mounted Secret.

    The pod mounts the Secret only when the owner opted in at spawn; the Secret is marked optional,
    so a pod never waits for it. The spawn form is the service's option sections; the profile they
    choose (the credits section's, with prices and admission) sizes the pod through KubeSpawner's
    `profile_list`, whose slugs are the credits profiles' names (`notebooks kubernetes values`
    renders it). Servers run in the hub's namespace (no user namespaces).
    """

    token_secret_name_template = Unicode(
        "oidc-{pod_name}",
        config=True,
        help="Name of the Secret holding a server's token files; `{pod_name}` is the server's pod "
        "name. The prefix keeps it apart from KubeSpawner's own per-pod Secrets.",
    )
    token_mount_paths = List(
        Unicode(),
        MOUNT_PATHS,
        minlen=1,
        config=True,
        help="Directories where a server that opted in sees its token files. "
        "`$OIDC_ACCESS_TOKEN_FILE` names the file in the first.",
    )

    async def load_user_options(self) -> None:
        """Apply the profile the option sections chose (a default one when the request named none),
        not KubeSpawner's own default: the pod gets the resources the user is charged for."""
        chosen = self.validated_options.get("profile")
        if not chosen:
            return await super().load_user_options()
        requested = self.user_options
        self.user_options = {**(requested or {}), "profile": chosen}
        try:
            await super().load_user_options()
        finally:
            self.user_options = requested

    @property
    def token_secret_name(self) -> str:
        return self.token_secret_name_template.format(pod_name=self.pod_name)

    def make_token_sink(self) -> SecretSink:
        return SecretSink(self.api, self.namespace, self.token_secret_name, self._build_common_labels({}),
                          mount_path=self.token_mount_paths[0])

    async def get_pod_manifest(self) -> Any:
        pod = await super().get_pod_manifest()
        if wants_token(self.user_options):
            pod.spec.volumes = [*(pod.spec.volumes or []), V1Volume(
                name=VOLUME_NAME,
                secret=V1SecretVolumeSource(secret_name=self.token_secret_name, optional=True,
                                            default_mode=FILE_MODE))]
            notebook = pod.spec.containers[0]
            notebook.volume_mounts = [*(notebook.volume_mounts or []), *(
                V1VolumeMount(name=VOLUME_NAME, mount_path=path, read_only=True)
                for path in self.token_mount_paths)]
        return pod
