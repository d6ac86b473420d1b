"""The hub's configuration on Kubernetes: what the chart's `hub.extraConfig` snippet calls.

The chart's own `jupyterhub_config.py` has already applied its values (images, storage, the profile
list, the database, `hub.services` with the API tokens it generated); this adds the service's
configuration from the operator file the release mounts, through the same appliers as `notebooks up`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from notebooks_service.config.environment import config_from_environment
from notebooks_service.hub.config import configure_service
from notebooks_service.hub.placement import Placement, ServiceEndpoint
from notebooks_service.kubernetes.names import service_url
from notebooks_service.tokens.kubernetes import KubeTokenSpawner


def kubernetes_placement(config: Any) -> Placement:
    """Our services as the render deploys them: a Deployment and a Service each; secrets from the
    environment the chart gives the hub pod (never from the operator file)."""
    return Placement(
        public_url=config.kubernetes.public_url,
        issuer=config.oidc.issuer,
        client_secret=config.oidc.client_secret,
        jwt=ServiceEndpoint(url=service_url("jwt")),
        tokens=ServiceEndpoint(url=service_url("tokens")),
        credits=ServiceEndpoint(url=service_url("credits")),
        zones=ServiceEndpoint(url=service_url("zones")),
        ledger_url=config.credits.database_url,
    )


def configure_kubernetes_hub(c: Any, environ: Mapping[str, str] | None = None) -> None:
    """Apply the mounted operator file to the chart's hub config `c`."""
    config = config_from_environment(os.environ if environ is None else environ)
    c.JupyterHub.spawner_class = KubeTokenSpawner
    configure_service(c, config, kubernetes_placement(config))
