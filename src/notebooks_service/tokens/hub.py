"""Hub configuration for the token capability: spawner, spawn option, refresher, release service.

The release service's role, least privilege for what it reads (it never writes):
- `read:users` with `admin:auth_state`: the owner's current access token and its expiry;
- `read:servers` with `admin:server_state`: whether the asking server runs and was shared since it
  started (the refresher marks that in the server's state; there is no read-only state scope);
- `read:shares`: whether the server is shared right now (shares and share codes).
"""

from __future__ import annotations

import sys
from typing import Any

from notebooks_service.config.schema import TokensSection
from notebooks_service.hub.declare import declare_role, declare_service
from notebooks_service.hub.placement import ServiceEndpoint
from notebooks_service.tokens.mount_option import MountAccessTokenOption

SERVICE_NAME = "tokens"
ROLE_NAME = "notebooks-token-release"
SCOPES = ("read:users", "admin:auth_state", "read:servers", "admin:server_state", "read:shares")


RELEASE_COMMAND = [sys.executable, "-m", "notebooks_service.tokens.release"]


def release_service(endpoint: ServiceEndpoint) -> dict[str, Any]:
    """The `c.JupyterHub.services` entry of the service at `/services/tokens`: a process the hub runs
    (one machine) or a Deployment's Service (Kubernetes)."""
    return endpoint.hub_service(SERVICE_NAME)


def release_role() -> dict[str, Any]:
    return {
        "name": ROLE_NAME,
        "description": "Read the owner's token for their own unshared server (/services/tokens)",
        "scopes": list(SCOPES),
        "services": [SERVICE_NAME],
    }


def configure_tokens(c: Any, tokens: TokensSection, release: ServiceEndpoint) -> None:
    """Deliver tokens into servers that opt in, keep them fresh, and register the release service."""
    c.SpawnOptionsMixin.option_sections.append(MountAccessTokenOption)
    c.Spawner.env_tokens = dict(tokens.env_tokens)
    c.TokenRefresher.concurrency = tokens.refresh_concurrency
    c.TokenRefresher.retry_initial_delay = tokens.retry_initial_delay
    c.TokenRefresher.retry_max_delay = tokens.retry_max_delay

    c.Spawner.token_service_url = f"{release.url}/services/{SERVICE_NAME}/"
    declare_service(c, release_service(release))
    declare_role(c, release_role())
