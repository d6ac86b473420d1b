"""What the hub config needs to run this service: its `services` entry and its role.

Least privilege for what the service must do itself (everything else runs with user tokens):
- `admin:users`: `POST /users/{name}` (create a user first seen through the API) requires it,
  and it includes reading a user's groups; there is no narrower scope for creating users.
- `admin:groups`: create a group the first time a user carries it (`POST /groups/{name}`);
  it includes `groups`, needed to add and remove members.
- `tokens`: `POST /users/{name}/tokens` by a non-self requester is allowed when the requester's
  `tokens` scope covers that user; the token gets the hub's default `inherit` scope, i.e. exactly
  the user's own permissions, never the service's. Also lets us revoke them at shutdown.
Not granted: `admin` (the service cannot set the `admin` flag; see `admin_groups_role`), servers,
proxy, shutdown, `access:services`.
"""

from __future__ import annotations

import sys
from typing import Any

from notebooks_service.config.schema import OidcSection
from notebooks_service.services.jwt.settings import SETTINGS_ENV

SERVICE_NAME = "jwt"
ROLE_NAME = "notebooks-jwt-service"
SCOPES = ("admin:users", "admin:groups", "tokens")


def hub_service_definition(settings_path: str, port: int, host: str = "127.0.0.1") -> dict:
    """The `c.JupyterHub.services` entry: a hub-managed process at `/services/jwt`."""
    return {
        "name": SERVICE_NAME,
        "url": f"http://{host}:{port}",
        "command": [sys.executable, "-m", "notebooks_service.services.jwt"],
        "environment": {SETTINGS_ENV: str(settings_path)},
        "display": False,
    }


def hub_role_definition() -> dict:
    """The `c.JupyterHub.load_roles` entry granting the service its scopes."""
    return {
        "name": ROLE_NAME,
        "description": "OIDC bearer-token access to the hub API (/services/jwt)",
        "scopes": list(SCOPES),
        "services": [SERVICE_NAME],
    }


def admin_groups_role(oidc: OidcSection) -> dict[str, Any]:
    """Optional `load_roles` entry giving the admin groups the hub's `admin` role.

    Without it a user first seen through the API is created with the right groups but not the
    `admin` flag (only an admin may set it), so they have admin rights only after a browser login.
    """
    return {"name": "admin", "groups": list(oidc.admin_groups)}
