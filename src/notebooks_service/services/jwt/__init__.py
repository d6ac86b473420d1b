"""The JupyterHub REST API with OIDC bearer tokens, as an external hub service at `/services/jwt`.

Run beside the hub (by `notebooks up`) as `python -m notebooks_service.services.jwt`. Environment:

- `JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_API_URL`, `JUPYTERHUB_SERVICE_PREFIX`,
  `JUPYTERHUB_SERVICE_URL`: as the hub sets them for its services.
- `NOTEBOOKS_CONFIG`: the operator config file, whose `[oidc]` section (issuer resolved, client
  id/secret for introspection, username/groups claims, allowed/admin groups, audience, algorithms)
  the service follows; the client secret may come from `NOTEBOOKS_OIDC_CLIENT_SECRET` instead.

Hub config, three lines (plus running the process), with
`NotebooksAuthenticator` as the hub's authenticator (it serves the bearer-login endpoint)::

    c.JupyterHub.services.append(hub_service_definition(service_url, api_token))
    c.JupyterHub.custom_scopes.update(hub_custom_scopes())
    c.JupyterHub.load_roles.append(hub_role_definition())
"""

from notebooks_service.services.jwt.definition import (
    hub_custom_scopes,
    hub_role_definition,
    hub_service_definition,
)

__all__ = [
    "hub_custom_scopes",
    "hub_role_definition",
    "hub_service_definition",
]
