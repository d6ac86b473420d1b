"""Register the bearer-token API (`/services/jwt`) with the hub, with the roles it relies on."""

from __future__ import annotations

from typing import Any

from notebooks_service.launcher.runtime import Runtime
from notebooks_service.services.jwt.definition import (
    hub_custom_scopes,
    hub_role_definition,
    hub_service_definition,
)


def configure_jwt_api(c: Any, runtime: Runtime) -> None:
    """Declare the service and its least-privilege role (one custom scope: bearer-login)."""
    services = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
    services.append(hub_service_definition(runtime.jwt_service_url,
                                            runtime.layout.secret("jwt_service_token")))
    c.JupyterHub.services = services
    scopes = dict(c.JupyterHub.custom_scopes) if "custom_scopes" in c.JupyterHub else {}
    c.JupyterHub.custom_scopes = {**scopes, **hub_custom_scopes()}
    roles = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    c.JupyterHub.load_roles = [*roles, hub_role_definition()]
