"""A pod's volumes on the node: Secret and ConfigMap volumes projected from the API (and re-projected
when the objects change), a directory per PersistentVolumeClaim that outlives pods, emptyDirs."""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes_asyncio.client import ApiException, CoreV1Api, V1Pod, V1Volume

from tests.kubernetes.node.pod_spec import UnsupportedSpec
from tests.kubernetes.node.projection import project
from tests.kubernetes.node.sandbox import Mount

log = logging.getLogger(__name__)
DEFAULT_MODE = 0o644


class NotReadyYet(Exception):
    """A volume's source is missing (a required Secret, an absent claim): the kubelet keeps waiting."""


async def object_data(api: CoreV1Api, namespace: str, kind: str, name: str) -> dict[str, bytes] | None:
    """The data of a Secret or ConfigMap, key by key, or None when it does not exist."""
    try:
        if kind == "Secret":
            secret = await api.read_namespaced_secret(name, namespace)
            return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
        config_map = await api.read_namespaced_config_map(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    data = {k: v.encode() for k, v in (config_map.data or {}).items()}
    return data | {k: base64.b64decode(v) for k, v in (config_map.binary_data or {}).items()}


@dataclass
class ProjectedSource:
    """A Secret or ConfigMap volume of one pod, and where its files go on the node."""

    kind: str
    name: str
    optional: bool
    items: list[Any] | None
    mode: int
    directory: Path

    async def fetch(self, api: CoreV1Api, namespace: str) -> dict[str, bytes] | None:
        """The object's data as files, or None when it does not exist."""
        data = await object_data(api, namespace, self.kind, self.name)
        if data is None:
            return None
        if self.items:
            return {item.path: data[item.key] for item in self.items if item.key in data}
        return data

    async def sync(self, api: CoreV1Api, namespace: str, gid: int) -> bool:
        files = await self.fetch(api, namespace)
        if files is None:
            if not self.optional:
                raise NotReadyYet(f"{self.kind} {namespace}/{self.name} not found")
            files = {}  # an optional volume of a missing object is empty
        return project(self.directory, files, self.mode, gid)


@dataclass
class PodVolumes:
    mounts: list[Mount]
    sources: list[ProjectedSource]


def _source(volume: V1Volume, pod_dir: Path) -> ProjectedSource | None:
    directory = pod_dir / "volumes" / volume.name
    if volume.secret is not None:
        spec = volume.secret
        return ProjectedSource("Secret", spec.secret_name, bool(spec.optional), spec.items,
                               spec.default_mode if spec.default_mode is not None else DEFAULT_MODE,
                               directory)
    if volume.config_map is not None:
        spec = volume.config_map
        return ProjectedSource("ConfigMap", spec.name, bool(spec.optional), spec.items,
                               spec.default_mode if spec.default_mode is not None else DEFAULT_MODE,
                               directory)
    return None


async def claim_directory(api: CoreV1Api, namespace: str, claim: str, claims_root: Path,
                          gid: int) -> Path:
    """The node's directory for a claim: created on first use, kept when pods go (the claim's storage)."""
    try:
        await api.read_namespaced_persistent_volume_claim(claim, namespace)
    except ApiException as error:
        if error.status == 404:
            raise NotReadyYet(f"PersistentVolumeClaim {namespace}/{claim} not found") from None
        raise
    directory = claims_root / namespace / claim
    if not directory.exists():
        directory.mkdir(parents=True)
        os.chown(directory, 0, gid)
        directory.chmod(0o2775)  # fsGroup ownership, as the kubelet applies it
    return directory


async def prepare(api: CoreV1Api, pod: V1Pod, pod_dir: Path, claims_root: Path, gid: int) -> PodVolumes:
    """Every volume of the pod ready on disk and the container's mounts, or NotReadyYet/UnsupportedSpec."""
    namespace = pod.metadata.namespace
    places: dict[str, Path] = {}
    sources: list[ProjectedSource] = []
    for volume in pod.spec.volumes or []:
        source = _source(volume, pod_dir)
        if source is not None:
            await source.sync(api, namespace, gid)
            sources.append(source)
            places[volume.name] = source.directory
        elif volume.persistent_volume_claim is not None:
            places[volume.name] = await claim_directory(
                api, namespace, volume.persistent_volume_claim.claim_name, claims_root, gid)
        elif volume.empty_dir is not None:
            places[volume.name] = pod_dir / "volumes" / volume.name
            places[volume.name].mkdir(parents=True, exist_ok=True)
            places[volume.name].chmod(0o1777)
        else:
            raise UnsupportedSpec(f"volume {volume.name}: only secret, configMap, persistentVolumeClaim "
                                  "and emptyDir volumes are implemented")
    container = pod.spec.containers[0]
    mounts = []
    for mount in container.volume_mounts or []:
        if mount.sub_path:
            raise UnsupportedSpec(f"subPath of volume mount {mount.name}")
        mounts.append(Mount(places[mount.name], mount.mount_path, bool(mount.read_only)))
    return PodVolumes(mounts, sources)
