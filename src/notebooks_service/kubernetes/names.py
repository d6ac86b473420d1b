"""Names the render and the hub pod must agree on: objects, ports, paths, the chart's own names."""

from __future__ import annotations

SERVICE_PORT = 8000
"""Port every service of ours listens on in its pod, and its Kubernetes Service's port."""
CONFIG_MAP = "notebooks-operator"
CONFIG_KEY = "operator.toml"
CONFIG_DIR = "/etc/notebooks"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_KEY}"

CHART_HUB_SECRET = "hub"
"""The chart's Secret holding the API tokens it generates for `hub.services` entries."""
CHART_HUB_SERVICE_ACCOUNT = "hub"
CHART_HUB_API_URL = "http://hub:8081/hub/api"
"""The hub's REST API through the chart's `hub` Service."""
HUB_ACCESS_LABEL = "hub.jupyter.org/network-access-hub"
"""Pods with this label may reach the hub through the chart's network policy."""

TOKEN_SECRETS_ROLE = "notebooks-token-secrets"
CONFIG_DIGEST_ANNOTATION = "notebooks-service/operator-file-sha256"
"""On the pods that read the operator file: a changed file changes their template, so an upgrade
restarts them (a mounted ConfigMap's new content is never re-read by a running process)."""



def object_name(service: str) -> str:
    """The Deployment and Service of one of our services, e.g. `notebooks-jwt`."""
    return f"notebooks-{service}"


def service_url(service: str) -> str:
    """Where the hub and the proxy reach one of our services, inside the release's namespace."""
    return f"http://{object_name(service)}:{SERVICE_PORT}"


def labels(service: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": object_name(service), "app.kubernetes.io/part-of": "notebooks-service"}
