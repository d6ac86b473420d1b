"""What the hub config needs to run this service: its `services` entry, its role and scope.

Least privilege: the service holds one custom scope, `custom:notebooks:bearer-login`, which lets it
hand a caller's OIDC token to the hub's bearer-login endpoint (`auth/bearer_login.py`). The hub
verifies that token itself, records the login as a browser login would (groups, `admin` flag) and
returns a hub token of that user with the user's own permissions. The service cannot create users,
change groups, or mint a token without a valid OIDC token of that user; every proxied request runs
with the user's token, so the hub's RBAC decides. Minted tokens are revoked with themselves.
"""

from __future__ import annotations

from notebooks_service.auth.bearer_login import LOGIN_SCOPE, LOGIN_SCOPE_DESCRIPTION

SERVICE_NAME = "jwt"
ROLE_NAME = "notebooks-jwt-service"
SCOPES = (LOGIN_SCOPE,)


def hub_service_definition(url: str, api_token: str | None) -> dict:
    """The `c.JupyterHub.services` entry of the service at `/services/jwt`.

    The process is run beside the hub (by `notebooks up`, or as its own deployment on Kubernetes),
    not by the hub, so that a hub restart neither orphans nor interrupts it. Without `api_token` the
    deployment supplies it (the Zero to JupyterHub chart generates one per service).
    """
    entry = {"name": SERVICE_NAME, "url": url, "display": False}
    return {**entry, "api_token": api_token} if api_token else entry


def hub_custom_scopes() -> dict[str, dict[str, str]]:
    """The `c.JupyterHub.custom_scopes` entries the service's role refers to."""
    return {LOGIN_SCOPE: {"description": LOGIN_SCOPE_DESCRIPTION}}


def hub_role_definition() -> dict:
    """The `c.JupyterHub.load_roles` entry granting the service its scope."""
    return {
        "name": ROLE_NAME,
        "description": "OIDC bearer-token access to the hub API (/services/jwt)",
        "scopes": list(SCOPES),
        "services": [SERVICE_NAME],
    }
