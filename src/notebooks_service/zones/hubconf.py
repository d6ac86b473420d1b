"""Hub configuration for zones: the directory service, its role, and the zone on every hub page.

Least privilege for the service's own token (it never writes):
- `read:users`, `read:servers`: the user's servers in this zone;
- `admin:auth_state`: the user's current access token, which it sends to the other zones' JWT APIs to
  list the user's servers there (the token is never shown or stored).
Users get `access:services!service=zones` so that their browser reaches the zones page.
"""

from __future__ import annotations

import sys
from typing import Any

from notebooks_service.hub.declare import declare_role, declare_service, with_user_role_scopes
from notebooks_service.hub.placement import ServiceEndpoint
from notebooks_service.zones.config import ZoneSection

SERVICE_NAME = "zones"
ROLE_NAME = "notebooks-zone-directory"
SCOPES = ("read:users", "read:servers", "admin:auth_state")
ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"
PAGE_URL = f"/services/{SERVICE_NAME}/home"
ZONES_COMMAND = [sys.executable, "-m", "notebooks_service.zones"]


def zones_service(endpoint: ServiceEndpoint) -> dict[str, Any]:
    return endpoint.hub_service(SERVICE_NAME, pages=True)


def zones_role() -> dict[str, Any]:
    return {"name": ROLE_NAME, "description": "List the zones and a user's servers in each (/services/zones)",
            "scopes": list(SCOPES), "services": [SERVICE_NAME]}


def configure_zones(c: Any, zone: ZoneSection, endpoint: ServiceEndpoint) -> None:
    """When this hub is a zone: run the directory and show the zone on every page."""
    if not zone.name:
        return
    declare_service(c, zones_service(endpoint))
    declare_role(c, zones_role())
    with_user_role_scopes(c, (ACCESS_SCOPE,))
    c.JupyterHub.template_vars.update({"zone_name": zone.name, "zone_label": zone.label,
                                       "zones_url": PAGE_URL})
