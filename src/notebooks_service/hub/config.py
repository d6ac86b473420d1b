"""Turn the runtime settings into JupyterHub configuration.

Kept as one function over a traitlets Config so deployments other than `notebooks up` can reuse it.
"""

from __future__ import annotations

from typing import Any

from notebooks_service.auth.authenticator import NotebooksAuthenticator
from notebooks_service.environment.spawn import configure_user_environment
from notebooks_service.hub.jwt_api import configure_jwt_api
from notebooks_service.hub.sharing import configure_sharing
from notebooks_service.isolation.hubconf import configure_isolation
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.services.credits.hubconf import configure_credits
from notebooks_service.tokens.hub import configure_tokens
from notebooks_service.tokens.local import LocalTokenSpawner


def hub_client_secret(runtime: Runtime) -> str:
    """The OAuth client secret the hub uses at the IdP: configured, or generated for the dev IdP."""
    return runtime.config.oidc.client_secret or runtime.layout.secret("hub_client_secret")


def configure_hub(c: Any, runtime: Runtime) -> None:
    """Apply `runtime` to the JupyterHub config object `c`."""
    config, layout = runtime.config, runtime.layout
    service, oidc = config.service, config.oidc

    c.JupyterHub.ip = service.ip
    c.JupyterHub.port = service.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = runtime.hub_api_port
    c.JupyterHub.db_url = layout.hub_db_url
    c.JupyterHub.cookie_secret = bytes.fromhex(layout.secret("cookie_secret"))
    c.CryptKeeper.keys = [bytes.fromhex(layout.secret("auth_state_key"))]
    c.JupyterHub.cleanup_servers = not service.keep_servers_on_shutdown
    c.JupyterHub.cleanup_proxy = False
    c.JupyterHub.proxy_check_interval = 10

    # The launcher runs configurable-http-proxy itself, so a hub restart never drops user routes.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{runtime.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = layout.secret("proxy_auth_token")

    c.JupyterHub.authenticator_class = NotebooksAuthenticator
    auth = c.NotebooksAuthenticator
    auth.issuer = runtime.issuer
    auth.client_id = oidc.client_id
    auth.client_secret = hub_client_secret(runtime)
    auth.oauth_callback_url = f"{runtime.hub_url}/hub/oauth_callback"
    auth.scope = list(oidc.scopes)
    auth.username_claim = oidc.username_claim
    auth.groups_claim = oidc.groups_claim
    auth.allowed_groups = set(oidc.allowed_groups)
    auth.admin_groups = set(oidc.admin_groups)
    auth.allow_all = not oidc.allowed_groups
    auth.signature_algorithms = list(oidc.signature_algorithms)
    auth.access_token_audience = oidc.audience
    auth.refresh_margin_fraction = oidc.refresh_margin_fraction
    auth.use_userinfo = oidc.userinfo
    c.Authenticator.auth_refresh_age = service.auth_refresh_age
    c.Authenticator.refresh_pre_spawn = True

    c.JupyterHub.spawner_class = LocalTokenSpawner
    c.LocalHomeSpawner.homes_root = str(layout.homes)
    configure_user_environment(c, runtime)
    configure_isolation(c, runtime)
    c.Spawner.start_timeout = 300  # includes waiting for a start slot (a class starting at once)
    c.Spawner.http_timeout = 60

    # Users may list themselves: `GET /users` answers with their own entry, as the seeds' example expects.
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "list:users!user"]}]
    configure_jwt_api(c, runtime)
    configure_sharing(c, runtime)
    configure_tokens(c, runtime)
    configure_credits(c, runtime)
