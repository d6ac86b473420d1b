"""Register the bearer-token API (`/services/jwt`) with the hub, with the roles it relies on."""

from __future__ import annotations

from typing import Any

from notebooks_service.hub.declare import declare_role, declare_service
from notebooks_service.hub.placement import ServiceEndpoint
from notebooks_service.services.jwt.definition import (
    hub_custom_scopes,
    hub_role_definition,
    hub_service_definition,
)


def configure_jwt_api(c: Any, endpoint: ServiceEndpoint) -> None:
    """Declare the service and its least-privilege role (one custom scope: bearer-login)."""
    declare_service(c, hub_service_definition(endpoint.url, endpoint.api_token))
    scopes = dict(c.JupyterHub.custom_scopes) if "custom_scopes" in c.JupyterHub else {}
    c.JupyterHub.custom_scopes = {**scopes, **hub_custom_scopes()}
    declare_role(c, hub_role_definition())
