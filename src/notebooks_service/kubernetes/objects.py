"""The service's own Kubernetes objects beside the chart: the operator file, our three services, and the
Role that lets the hub keep token Secrets up to date.

The services run from the hub image and talk to the hub as external hub services: the chart registers
them from `hub.services` and keeps each one's API token in its `hub` Secret, which their pods read.
The JWT API and the token release service are stateless and scale out; credits runs one accounting
process (its ledger on PostgreSQL is the single source of truth), replaced, not doubled, on upgrade.
"""

from __future__ import annotations

import json
from typing import Any

from notebooks_service.config.environment import CLIENT_SECRET_ENV, CONFIG_ENV
from notebooks_service.config.schema import OperatorConfig
from notebooks_service.kubernetes.names import (
    CHART_HUB_API_URL,
    CHART_HUB_SECRET,
    CHART_HUB_SERVICE_ACCOUNT,
    CONFIG_DIGEST_ANNOTATION,
    CONFIG_DIR,
    CONFIG_KEY,
    CONFIG_MAP,
    CONFIG_PATH,
    HUB_ACCESS_LABEL,
    SERVICE_PORT,
    TOKEN_SECRETS_ROLE,
    labels,
    object_name,
)
from notebooks_service.kubernetes.values import from_secret
from notebooks_service.services.credits.hubconf import ACCESS_SCOPE as CREDITS_ACCESS
from notebooks_service.services.runner import DRAIN_ENV
from notebooks_service.zones.hubconf import ACCESS_SCOPE as ZONES_ACCESS

MODULES = {
    "jwt": "notebooks_service.services.jwt",
    "tokens": "notebooks_service.tokens.release",
    "credits": "notebooks_service.services.credits",
    "zones": "notebooks_service.zones",
}
PAGES = {"credits": CREDITS_ACCESS, "zones": ZONES_ACCESS}
"""Services with pages users open in the browser (they log in through the hub): their access scope."""


def config_map(operator_text: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP},
            "data": {CONFIG_KEY: operator_text}}


def service_environment(config: OperatorConfig, service: str) -> list[dict[str, Any]]:
    """What the hub would give a process it runs, plus where the operator file and secrets are."""
    k8s = config.kubernetes
    prefix = f"/services/{service}/"
    env: list[dict[str, Any]] = [
        {"name": "JUPYTERHUB_SERVICE_NAME", "value": service},
        {"name": "JUPYTERHUB_API_URL", "value": CHART_HUB_API_URL},
        {"name": "JUPYTERHUB_API_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": CHART_HUB_SECRET, "key": f"hub.services.{service}.apiToken"}}},
        {"name": "JUPYTERHUB_SERVICE_PREFIX", "value": prefix},
        {"name": "JUPYTERHUB_SERVICE_URL", "value": f"http://0.0.0.0:{SERVICE_PORT}"},
        {"name": "JUPYTERHUB_BASE_URL", "value": "/"},
        {"name": CONFIG_ENV, "value": CONFIG_PATH},
    ]
    if service == "jwt":  # introspection of opaque tokens authenticates as the hub's client
        env.append({"name": CLIENT_SECRET_ENV, **from_secret(k8s.client_secret)})
        env.append({"name": DRAIN_ENV, "value": f"{k8s.drain_seconds:g}"})
    if service == "credits":
        env.append({"name": "PGPASSWORD", **from_secret(k8s.database_password)})
    if service in PAGES:  # users log in to its pages through the hub (OAuth)
        scopes = json.dumps([PAGES[service]])
        env += [
            {"name": "JUPYTERHUB_CLIENT_ID", "value": f"service-{service}"},
            {"name": "JUPYTERHUB_OAUTH_CALLBACK_URL", "value": f"{prefix}oauth_callback"},
            {"name": "JUPYTERHUB_OAUTH_SCOPES", "value": scopes},
            {"name": "JUPYTERHUB_OAUTH_ACCESS_SCOPES", "value": scopes},
        ]
    return env


def deployment(config: OperatorConfig, service: str, replicas: int, config_digest: str) -> dict[str, Any]:
    selector = labels(service)
    container = {
        "name": service,
        "image": config.kubernetes.hub_image,
        "command": ["python3", "-m", MODULES[service]],
        "env": service_environment(config, service),
        "ports": [{"name": "http", "containerPort": SERVICE_PORT}],
        # the Service sends connections only to pods that listen (a service reads its config, migrates
        # the ledger or discovers the IdP before it does)
        "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
        "volumeMounts": [{"name": "operator", "mountPath": CONFIG_DIR, "readOnly": True}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": {**selector, HUB_ACCESS_LABEL: "true"},
                         "annotations": {CONFIG_DIGEST_ANNOTATION: config_digest}},
            "spec": {"containers": [container], "automountServiceAccountToken": False,
                     "volumes": [{"name": "operator", "configMap": {"name": CONFIG_MAP}}]},
        },
    }
    if service == "credits":  # one accounting process at a time, also during an upgrade
        spec["strategy"] = {"type": "Recreate"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": object_name(service), "labels": selector}, "spec": spec}


def service_object(service: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": object_name(service), "labels": labels(service)},
            "spec": {"selector": labels(service),
                     "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}]}}


def token_secrets_rbac() -> list[dict[str, Any]]:
    """The hub replaces a server's token Secret at every refresh (`tokens.kubernetes.SecretSink`):
    `update` on Secrets, which the chart's hub Role lacks; this Role only adds to it."""
    rbac = "rbac.authorization.k8s.io"
    return [
        {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": {"name": TOKEN_SECRETS_ROLE},
         "rules": [{"apiGroups": [""], "resources": ["secrets"],
                    "verbs": ["get", "create", "update", "delete"]}]},
        {"apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": {"name": TOKEN_SECRETS_ROLE},
         "subjects": [{"kind": "ServiceAccount", "name": CHART_HUB_SERVICE_ACCOUNT}],
         "roleRef": {"apiGroup": rbac, "kind": "Role", "name": TOKEN_SECRETS_ROLE}},
    ]


def service_objects(config: OperatorConfig, operator_text: str, config_digest: str) -> list[dict[str, Any]]:
    """Everything to `kubectl apply -n <namespace>` next to the chart's release."""
    k8s = config.kubernetes
    replicas = {"jwt": k8s.jwt_replicas, "tokens": k8s.release_replicas, "credits": 1, "zones": 1}
    wanted = {"credits": config.credits.enabled, "zones": bool(config.zone.name)}
    enabled = [name for name in replicas if wanted.get(name, True)]
    objects = [config_map(operator_text)]
    for name in enabled:
        objects += [deployment(config, name, replicas[name], config_digest), service_object(name)]
    return objects + token_secrets_rbac()
