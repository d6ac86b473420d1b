"""Settings of the JWT service: the hub's environment plus the operator config's `[oidc]` section.

The service gets `JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_API_URL`, `JUPYTERHUB_SERVICE_PREFIX` and
`JUPYTERHUB_SERVICE_URL` as hub services do, and finds the operator config as every process of the
service does (`config.environment`: `NOTEBOOKS_CONFIG`, the client secret possibly from
`NOTEBOOKS_OIDC_CLIENT_SECRET`). The issuer must be resolved there: `notebooks up` writes the
development IdP's URL into the config it hands over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from notebooks_service.config.environment import CONFIG_ENV, config_from_environment
from notebooks_service.config.load import ConfigError
from notebooks_service.config.schema import OidcSection
from notebooks_service.services.runner import HubServiceEnvironment


class SettingsError(ValueError):
    """The environment or the operator config is unusable; the message says what to fix."""


@dataclass(frozen=True)
class ServiceKnobs:
    """Tunables with safe defaults; documented in docs/api.md."""

    leeway: float = 30.0
    """Clock skew tolerated on exp/nbf/iat (seconds)."""
    min_jwks_refetch_interval: float = 30.0
    introspection_cache_seconds: float = 60.0
    """Upper bound on how long a revoked opaque token keeps working."""
    identity_cache_size: int = 10_000
    hub_token_max_lifetime: int = 3600
    """Per-user hub tokens live at most this long, and never past the OIDC token's expiry."""
    hub_timeout: float = 120.0
    """Read timeout for ordinary hub requests; progress streams have none."""


@dataclass(frozen=True)
class Settings:
    oidc: OidcSection
    api_token: str
    api_url: str
    """The hub REST API base, e.g. http://127.0.0.1:8081/hub/api (no trailing slash)."""
    prefix: str
    """Our public path prefix, e.g. /services/jwt/ (with trailing slash)."""
    bind_host: str
    bind_port: int
    knobs: ServiceKnobs = field(default_factory=ServiceKnobs)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the hub-provided environment and the operator config it points to."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", CONFIG_ENV) if not env.get(k)]
    if missing:
        raise SettingsError(f"missing environment: {', '.join(missing)}")
    try:
        oidc = config_from_environment(env).oidc
    except ConfigError as e:
        raise SettingsError(str(e)) from None
    if not oidc.issuer:
        raise SettingsError("oidc.issuer is empty: the JWT API needs the issuer it trusts")
    hub = HubServiceEnvironment.from_environ("/services/jwt/", "http://127.0.0.1:8090", env)
    return Settings(
        oidc=oidc,
        api_token=hub.api_token,
        api_url=hub.api_url,
        prefix=hub.prefix,
        bind_host=hub.host,
        bind_port=hub.port,
    )
