"""What the kubelet derives from a pod spec before it runs a container: the environment (with `valueFrom`
field references and `$(VAR)` expansion), the command, and the user and groups."""

from __future__ import annotations

import re
from typing import Any

from kubernetes_asyncio.client import V1Container, V1Pod

IMAGE_USER = 65534
"""The user of a container whose pod names none (the image's USER in Kubernetes): nobody."""
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class UnsupportedSpec(Exception):
    """A pod asks for something the node agent does not implement: it fails instead of half-running."""


class MissingConfig(Exception):
    """The env refers to a Secret or ConfigMap key that does not exist (yet): as the kubelet, the pod
    waits (CreateContainerConfigError) and is tried again, so objects may be created in any order."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined variables are replaced, `$$` escapes, others stay."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))
    return _REFERENCE.sub(replace, text)


def field_value(pod: V1Pod, path: str, pod_ip: str, host_ip: str) -> str:
    fields = {
        "metadata.name": pod.metadata.name, "metadata.namespace": pod.metadata.namespace,
        "metadata.uid": pod.metadata.uid, "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name, "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    if path not in fields:
        raise UnsupportedSpec(f"fieldRef {path}")
    return str(fields[path] or "")


def container_env(pod: V1Pod, container: V1Container, base: dict[str, str], pod_ip: str, host_ip: str,
                  lookups: dict[tuple[str, str], dict[str, str]]) -> dict[str, str]:
    """`base` (the image's environment) overlaid with the container's `env`, in order.

    `lookups` holds the data of the Secrets and ConfigMaps the env refers to, by (kind, name).
    """
    env = dict(base)
    for var in container.env or []:
        if var.value_from is None:
            env[var.name] = expand(var.value or "", env)
            continue
        source = var.value_from
        if source.field_ref is not None:
            env[var.name] = field_value(pod, source.field_ref.field_path, pod_ip, host_ip)
        elif source.secret_key_ref is not None or source.config_map_key_ref is not None:
            kind, ref = (("Secret", source.secret_key_ref) if source.secret_key_ref is not None
                         else ("ConfigMap", source.config_map_key_ref))
            data = lookups.get((kind, ref.name), {})
            if ref.key in data:
                env[var.name] = data[ref.key]
            elif not ref.optional:
                raise MissingConfig(f"{kind} {ref.name} has no key {ref.key}")
        else:
            raise UnsupportedSpec(f"env {var.name}: valueFrom other than fieldRef or key references")
    return env


def env_references(container: V1Container) -> list[tuple[str, str]]:
    """The (kind, name) of every Secret and ConfigMap the container's env reads keys from."""
    found: list[tuple[str, str]] = []
    for var in container.env or []:
        source = var.value_from
        if source is not None and source.secret_key_ref is not None:
            found.append(("Secret", source.secret_key_ref.name))
        if source is not None and source.config_map_key_ref is not None:
            found.append(("ConfigMap", source.config_map_key_ref.name))
    return found


def command(container: V1Container, env: dict[str, str]) -> list[str]:
    """The container's command and args, expanded; an image has no entrypoint here."""
    argv = [expand(part, env) for part in [*(container.command or []), *(container.args or [])]]
    if not argv:
        raise UnsupportedSpec("a container without command or args (the image's entrypoint)")
    return argv


def identity(pod: V1Pod, container: V1Container) -> tuple[int, int, list[int]]:
    """The uid, gid and supplementary groups (fsGroup and supplementalGroups) the container runs as."""
    pod_context: Any = pod.spec.security_context
    context: Any = container.security_context

    def pick(attribute: str) -> int | None:
        for source in (context, pod_context):
            value = getattr(source, attribute, None) if source is not None else None
            if value is not None:
                return int(value)
        return None

    uid = pick("run_as_user")
    gid = pick("run_as_group")
    groups = [int(g) for g in getattr(pod_context, "supplemental_groups", None) or []]
    fs_group = getattr(pod_context, "fs_group", None)
    if fs_group is not None:
        groups.insert(0, int(fs_group))
    return (IMAGE_USER if uid is None else uid), (0 if gid is None else gid), groups
