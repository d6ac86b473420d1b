"""The JupyterHub REST API with OIDC bearer tokens, as a hub-managed service at `/services/jwt`.

Run by the hub as `python -m notebooks_service.services.jwt`. Environment:

- `JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_API_URL`, `JUPYTERHUB_SERVICE_PREFIX`,
  `JUPYTERHUB_SERVICE_URL`: set by the hub for every managed service.
- `NOTEBOOKS_JWT_SETTINGS`: path of a JSON file holding the operator's `OidcSection` (issuer
  resolved, client id/secret for introspection, username/groups claims, allowed/admin groups,
  audience, algorithms), optionally as `{"oidc": {...}, "service": {...knobs}}`; see
  `settings.write_settings`.

Hub config, two lines (plus writing the settings file)::

    c.JupyterHub.services.append(hub_service_definition(settings_path, port))
    c.JupyterHub.load_roles.append(hub_role_definition())
"""

from notebooks_service.services.jwt.definition import (
    hub_role_definition,
    hub_service_definition,
)
from notebooks_service.services.jwt.settings import SETTINGS_ENV, write_settings

__all__ = [
    "SETTINGS_ENV",
    "hub_role_definition",
    "hub_service_definition",
    "write_settings",
]
