"""Register the bearer-token API (`/services/jwt`) with the hub, with the roles it relies on."""

from __future__ import annotations

from typing import Any

from notebooks_service.launcher.runtime import Runtime
from notebooks_service.services.jwt.definition import hub_role_definition, hub_service_definition


def configure_jwt_api(c: Any, runtime: Runtime) -> None:
    """Declare the service and its least-privilege role.

    The hub's `admin` flag of a member of an admin group is set by their browser login (the
    authenticator), not by this service: giving the admin groups the `admin` role through
    `load_roles` would need `load_groups`, which the hub refuses while the authenticator manages
    groups. So an admin seen only through the API has a normal user's rights until they log in once.
    """
    services = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
    services.append(hub_service_definition(runtime.jwt_service_url,
                                            runtime.layout.secret("jwt_service_token")))
    c.JupyterHub.services = services
    roles = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    c.JupyterHub.load_roles = [*roles, hub_role_definition()]
