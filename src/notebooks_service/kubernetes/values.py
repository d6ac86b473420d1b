"""The Zero to JupyterHub chart's values, from the operator config.

What the chart itself does well stays with the chart: images, the hub's database, the profile list,
homes as PersistentVolumeClaims, culling, network policies. The service's own configuration reaches the
hub as the operator file (mounted from the ConfigMap the render also writes) and one `extraConfig`
snippet that calls `notebooks_service.kubernetes.hubconf`. Secrets appear only as references.
"""

from __future__ import annotations

from typing import Any

from notebooks_service.config.environment import CLIENT_SECRET_ENV, CONFIG_ENV
from notebooks_service.config.schema import OperatorConfig
from notebooks_service.hub.config import START_TIMEOUT
from notebooks_service.hub.placement import ServiceEndpoint
from notebooks_service.kubernetes.config import SecretKeyRef
from notebooks_service.kubernetes.names import (
    CONFIG_DIGEST_ANNOTATION,
    CONFIG_DIR,
    CONFIG_MAP,
    CONFIG_PATH,
    SERVICE_PORT,
    labels,
    service_url,
)
from notebooks_service.services.credits.config import Profile
from notebooks_service.services.credits.hubconf import credits_role, credits_service
from notebooks_service.services.jwt.definition import hub_role_definition, hub_service_definition
from notebooks_service.tokens.hub import release_role, release_service
from notebooks_service.zones.hubconf import zones_role, zones_service

GPU_RESOURCE = "nvidia.com/gpu"
EXTRA_CONFIG = (
    "from notebooks_service.kubernetes.hubconf import configure_kubernetes_hub\n"
    "\n"
    "configure_kubernetes_hub(c)  # the operator file at $NOTEBOOKS_CONFIG, through our appliers\n"
)


def image(reference: str) -> dict[str, str]:
    name, _, tag = reference.rpartition(":")
    return {"name": name, "tag": tag}


def from_secret(ref: SecretKeyRef) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}


def profile_entry(name: str, profile: Profile, default: bool) -> dict[str, Any]:
    """One `singleuser.profileList` entry; its slug is the credits profile's name, which the spawn
    form sends and the credits service charges by. Requests equal limits: what a user pays for is
    reserved for them."""
    cpu, memory = profile.cpu, f"{profile.memory_gb:g}G"
    override: dict[str, Any] = {"cpu_guarantee": cpu, "cpu_limit": cpu, "mem_guarantee": memory,
                                "mem_limit": memory}
    if profile.gpu:
        override["extra_resource_guarantees"] = {GPU_RESOURCE: str(profile.gpu)}
        override["extra_resource_limits"] = {GPU_RESOURCE: str(profile.gpu)}
    who = f"; for members of {', '.join(profile.groups)}" if profile.groups else ""
    gpus = f", {profile.gpu} GPU" if profile.gpu else ""
    entry = {
        "slug": name,
        "display_name": profile.description or name,
        "description": f"{cpu:g} CPU, {profile.memory_gb:g} GiB{gpus}: "
                       f"{profile.price_per_hour:g} credits per hour{who}",
        "kubespawner_override": override,
    }
    return {**entry, "default": True} if default else entry


def profile_list(config: OperatorConfig) -> list[dict[str, Any]]:
    credits = config.credits
    if not credits.enabled:
        return []
    default = credits.default_profile or next(iter(credits.profiles))
    return [profile_entry(name, p, name == default) for name, p in credits.profiles.items()]


def without_name(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "name"}


def hub_values(config: OperatorConfig, config_digest: str) -> dict[str, Any]:
    k8s = config.kubernetes
    services = {
        "jwt": hub_service_definition(service_url("jwt"), None),
        "tokens": release_service(ServiceEndpoint(url=service_url("tokens"))),
    }
    roles = {"jwt": hub_role_definition(), "tokens": release_role()}
    if config.credits.enabled:
        services["credits"] = credits_service(ServiceEndpoint(url=service_url("credits")))
        roles["credits"] = credits_role()
    if config.zone.name:
        services["zones"] = zones_service(ServiceEndpoint(url=service_url("zones")))
        roles["zones"] = zones_role()
    return {
        "image": image(k8s.hub_image),
        "annotations": {CONFIG_DIGEST_ANNOTATION: config_digest},
        "db": {"type": "postgres", "url": k8s.hub_database_url},
        "extraEnv": {
            CONFIG_ENV: CONFIG_PATH,
            CLIENT_SECRET_ENV: from_secret(k8s.client_secret),
            "PGPASSWORD": from_secret(k8s.database_password),
        },
        "extraVolumes": [{"name": "notebooks-operator", "configMap": {"name": CONFIG_MAP}}],
        "extraVolumeMounts": [{"name": "notebooks-operator", "mountPath": CONFIG_DIR, "readOnly": True}],
        "extraConfig": {"notebooks": EXTRA_CONFIG},
        # the chart keys both by name (and generates each service's API token)
        "services": {name: without_name(entry) for name, entry in services.items()},
        "loadRoles": {role["name"]: without_name(role) for role in roles.values()},
    }


def singleuser_values(config: OperatorConfig) -> dict[str, Any]:
    k8s = config.kubernetes
    storage: dict[str, Any] = {"type": "dynamic", "capacity": k8s.home_capacity,
                               "homeMountPath": k8s.home_mount_path}
    if k8s.storage_class:
        storage["dynamic"] = {"storageClass": k8s.storage_class}
    values: dict[str, Any] = {
        "image": image(k8s.user_image),
        "uid": k8s.uid,
        "fsGid": k8s.fs_gid,
        "storage": storage,
        "startTimeout": START_TIMEOUT,
        # servers call the token release service (the panel's Save and Keep refreshed)
        "networkPolicy": {"egress": [{
            "to": [{"podSelector": {"matchLabels": labels("tokens")}}],
            "ports": [{"port": SERVICE_PORT, "protocol": "TCP"}],
        }]},
    }
    profiles = profile_list(config)
    if profiles:
        values["profileList"] = profiles
    else:
        isolation = config.isolation
        values["cpu"] = {"limit": isolation.default_cpu, "guarantee": isolation.default_cpu}
        memory = f"{isolation.default_memory_gb:g}G"
        values["memory"] = {"limit": memory, "guarantee": memory}
    return values


def cull_values(config: OperatorConfig) -> dict[str, Any]:
    k8s = config.kubernetes
    if not k8s.cull_idle_seconds:
        return {"enabled": False}
    return {"enabled": True, "timeout": k8s.cull_idle_seconds, "maxAge": k8s.cull_max_age_seconds}


def chart_values(config: OperatorConfig, config_digest: str) -> dict[str, Any]:
    """The values file for `helm upgrade --install <release> jupyterhub/jupyterhub -f values.yaml`;
    `config_digest` identifies the operator file's text (`names.CONFIG_DIGEST_ANNOTATION`)."""
    return {
        "hub": hub_values(config, config_digest),
        "singleuser": singleuser_values(config),
        "cull": cull_values(config),
    }
