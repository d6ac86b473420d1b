"""What the hub config needs to run this service: its `services` entry and its role.

Least privilege for what the service must do itself (everything else runs with user tokens):
- `admin:users`: `POST /users/{name}` (create a user first seen through the API) requires it,
  and it includes reading a user's groups; there is no narrower scope for creating users.
- `admin:groups`: create a group the first time a user carries it (`POST /groups/{name}`);
  it includes `groups`, needed to add and remove members.
- `tokens`: `POST /users/{name}/tokens` by a non-self requester is allowed when the requester's
  `tokens` scope covers that user; the token gets the hub's default `inherit` scope, i.e. exactly
  the user's own permissions, never the service's. Also lets us revoke them at shutdown.
Not granted: `admin` (the service cannot set the `admin` flag), servers,
proxy, shutdown, `access:services`.
"""

from __future__ import annotations

SERVICE_NAME = "jwt"
ROLE_NAME = "notebooks-jwt-service"
SCOPES = ("admin:users", "admin:groups", "tokens")


def hub_service_definition(url: str, api_token: str) -> dict:
    """The `c.JupyterHub.services` entry of the service at `/services/jwt`.

    The process is run beside the hub (by `notebooks up`, or as its own deployment on Kubernetes),
    not by the hub, so that a hub restart neither orphans nor interrupts it.
    """
    return {"name": SERVICE_NAME, "url": url, "api_token": api_token, "display": False}


def hub_role_definition() -> dict:
    """The `c.JupyterHub.load_roles` entry granting the service its scopes."""
    return {
        "name": ROLE_NAME,
        "description": "OIDC bearer-token access to the hub API (/services/jwt)",
        "scopes": list(SCOPES),
        "services": [SERVICE_NAME],
    }
