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

from notebooks_service.launcher.runtime import Runtime
from notebooks_service.tokens.mount_option import MountAccessTokenOption

SERVICE_NAME = "tokens"
ROLE_NAME = "notebooks-token-release"
SCOPES = ("read:users", "admin:auth_state", "read:servers", "admin:server_state", "read:shares")


def release_service(port: int) -> dict[str, Any]:
    """The `c.JupyterHub.services` entry: a hub-managed process at `/services/tokens`."""
    return {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{port}",
        "command": [sys.executable, "-m", "notebooks_service.tokens.release"],
        "display": False,
    }


def release_role() -> dict[str, Any]:
    return {
        "name": ROLE_NAME,
        "description": "Read the owner's token for their own unshared server (/services/tokens)",
        "scopes": list(SCOPES),
        "services": [SERVICE_NAME],
    }


def configure_tokens(c: Any, runtime: Runtime) -> None:
    """Deliver tokens into servers that opt in, keep them fresh, and run the release service."""
    tokens = runtime.config.tokens
    c.SpawnOptionsMixin.option_sections.append(MountAccessTokenOption)
    c.LocalTokenSpawner.token_secrets_root = tokens.secrets_dir or str(runtime.layout.secrets_run)
    c.Spawner.env_tokens = dict(tokens.env_tokens)
    c.TokenRefresher.concurrency = tokens.refresh_concurrency
    c.TokenRefresher.retry_initial_delay = tokens.retry_initial_delay
    c.TokenRefresher.retry_max_delay = tokens.retry_max_delay

    port = runtime.service_ports["tokens"]
    c.Spawner.token_service_url = f"http://127.0.0.1:{port}/services/{SERVICE_NAME}/"
    services = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
    c.JupyterHub.services = [*services, release_service(port)]
    roles = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    c.JupyterHub.load_roles = [*roles, release_role()]
