"""The hub's configuration, applied from the validated operator config by small appliers.

`configure_service` applies what every deployment shares (login, roles, the JWT API, sharing, tokens,
credits) from the config's sections and a `Placement`; `configure_hub` adds what only one machine has
(loopback ports, SQLite, local processes in sandboxes) and is what `notebooks up` runs. On Kubernetes,
`notebooks_service.kubernetes.hubconf` calls `configure_service` with the release's placement.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from notebooks_service.auth.authenticator import NotebooksAuthenticator
from notebooks_service.config.environment import CONFIG_ENV
from notebooks_service.config.schema import OidcSection, OperatorConfig
from notebooks_service.environment.spawn import configure_user_environment
from notebooks_service.hub.declare import with_user_role_scopes
from notebooks_service.hub.jwt_api import configure_jwt_api
from notebooks_service.hub.placement import Placement, ServiceEndpoint
from notebooks_service.hub.sharing import configure_sharing
from notebooks_service.isolation.hubconf import configure_isolation
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.services.credits.hubconf import CREDITS_COMMAND, configure_credits
from notebooks_service.tokens.hub import RELEASE_COMMAND, configure_tokens
from notebooks_service.tokens.local import LocalTokenSpawner
from notebooks_service.zones.hubconf import ZONES_COMMAND, configure_zones

START_TIMEOUT = 300
"""Seconds a server may take to start, including a wait for a start slot (a class starting at once)."""


def hub_client_secret(runtime: Runtime) -> str:
    """The OAuth client secret the hub uses at the IdP: configured, or generated for the dev IdP."""
    return runtime.config.oidc.client_secret or runtime.layout.secret("hub_client_secret")


def configure_authenticator(c: Any, oidc: OidcSection, placement: Placement, auth_refresh_age: int) -> None:
    """Log users in at the OIDC provider and admit them by group."""
    c.JupyterHub.authenticator_class = NotebooksAuthenticator
    auth = c.NotebooksAuthenticator
    auth.issuer = placement.issuer
    auth.client_id = oidc.client_id
    auth.client_secret = placement.client_secret
    auth.oauth_callback_url = f"{placement.public_url}/hub/oauth_callback"
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
    c.Authenticator.auth_refresh_age = auth_refresh_age
    c.Authenticator.refresh_pre_spawn = True


def configure_service(c: Any, config: OperatorConfig, placement: Placement) -> None:
    """Apply what every deployment shares to the JupyterHub config object `c`."""
    configure_authenticator(c, config.oidc, placement, config.service.auth_refresh_age)
    # our page.html (zone, links, warnings) before the hub's own templates
    paths = list(c.JupyterHub.template_paths) if "template_paths" in c.JupyterHub else []
    c.JupyterHub.template_paths = [str(files(__package__).joinpath("templates")), *paths]
    c.Spawner.start_timeout = START_TIMEOUT
    c.Spawner.http_timeout = 60
    # Users may list themselves: `GET /users` answers with their own entry, as the seeds' example expects.
    with_user_role_scopes(c, ("list:users!user",))
    configure_jwt_api(c, placement.jwt)
    configure_sharing(c)
    configure_tokens(c, config.tokens, placement.tokens)
    configure_credits(c, config.credits, placement.credits, placement.ledger_url)
    configure_zones(c, config.zone, placement.zones)


def local_placement(runtime: Runtime) -> Placement:
    """One machine: every service on a loopback port picked at start, secrets in the data dir."""
    config, layout = runtime.config, runtime.layout
    service_environment = {CONFIG_ENV: str(layout.operator_file)}
    ports = runtime.service_ports
    return Placement(
        public_url=runtime.hub_url,
        issuer=runtime.issuer,
        client_secret=hub_client_secret(runtime),
        jwt=ServiceEndpoint(url=runtime.jwt_service_url, api_token=layout.secret("jwt_service_token")),
        tokens=ServiceEndpoint(url=f"http://127.0.0.1:{ports['tokens']}", command=RELEASE_COMMAND),
        credits=ServiceEndpoint(url=f"http://127.0.0.1:{config.credits.service_port or ports['credits']}",
                                command=CREDITS_COMMAND, environment=service_environment),
        zones=ServiceEndpoint(url=f"http://127.0.0.1:{ports['zones']}", command=ZONES_COMMAND,
                              environment=service_environment),
        ledger_url=config.credits.ledger_url(runtime.data_dir),
    )


def configure_hub(c: Any, runtime: Runtime) -> None:
    """Apply `runtime` (one machine, `notebooks up`) to the JupyterHub config object `c`."""
    config, layout = runtime.config, runtime.layout
    service = config.service

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

    c.JupyterHub.spawner_class = LocalTokenSpawner
    c.LocalHomeSpawner.homes_root = str(layout.homes)
    c.LocalTokenSpawner.token_secrets_root = config.tokens.secrets_dir or str(layout.secrets_run)
    configure_user_environment(c, service.user_environment)
    configure_isolation(c, config.isolation, service.user_environment, runtime.data_dir)
    configure_service(c, config, local_placement(runtime))
