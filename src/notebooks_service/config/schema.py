"""The operator config file's schema: one TOML document, validated before anything starts.

Every section forbids unknown keys so that a typo fails loudly instead of silently keeping a default.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from notebooks_service.kubernetes.config import KubernetesSection
from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.zones.config import FederationSection, ZoneSection

Port = Annotated[int, Field(ge=0, le=65535)]
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
PositiveSeconds = Annotated[int, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ServiceSection(_Section):
    """Where the service listens and keeps its state."""

    port: Port = 8000
    """Public port of the proxy: the URL users open."""
    ip: str = "127.0.0.1"
    """Address the proxy listens on. Loopback by default: the embedded setup is for one machine."""
    data_dir: str = "notebooks-data"
    """Database, secrets, homes, logs and the development IdP's state live here."""
    hub_api_port: Port = 0
    """Internal port of the hub itself; 0 picks a free one at start."""
    proxy_api_port: Port = 0
    """Internal REST API port of configurable-http-proxy; 0 picks a free one at start."""
    keep_servers_on_shutdown: bool = False
    """Leave user servers running when `notebooks up` stops (they are picked up at the next start)."""
    auth_refresh_age: PositiveSeconds = 60
    """How old (seconds) the hub lets a user's auth state get before it checks and refreshes tokens."""
    user_environment: Annotated[str, Field(pattern=r"^(auto|/.*)?$")] = "auto"
    """Virtual environment user servers run from (absolute path of its directory). `auto`: the
    `.venv-user` that `scripts/bootstrap.sh` builds beside the hub's environment, when built; empty or
    `auto` without it: the hub's own environment."""


class OidcSection(_Section):
    """The identity provider the hub trusts. Endpoints come from OIDC discovery on `issuer`."""

    issuer: str = ""
    """Issuer URL. Empty means the built-in development IdP (`dev_idp.enabled` must then be true)."""
    client_id: str = "notebooks-hub"
    client_secret: str = ""
    """Empty with the development IdP: a secret is generated once and kept in the data dir."""
    scopes: list[str] = ["openid", "profile", "email", "offline_access"]
    username_claim: str = "preferred_username"
    groups_claim: str = "eduperson_entitlement"
    """Claim whose values become hub groups (EGI Check-in: `eduperson_entitlement`)."""
    allowed_groups: list[str] = ["researchers", "admins"]
    """Users in none of these groups are refused. Empty list: every authenticated user is allowed."""
    admin_groups: list[str] = ["admins"]
    audience: str = ""
    """Expected `aud` of access tokens; empty skips the audience check for access tokens."""
    signature_algorithms: list[str] = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
    """Allow-list of JWT signature algorithms; symmetric algorithms are never accepted."""
    refresh_margin_fraction: Annotated[float, Field(gt=0, lt=1)] = 1 / 3
    """Refresh an access token once less than this fraction of its lifetime is left."""
    userinfo: bool = True
    """Ask the userinfo endpoint for more claims at login. A refusal (IdPs whose access tokens are for
    a resource server) falls back to the verified ID token anyway; false never asks it."""

    @model_validator(mode="after")
    def _no_symmetric_algorithms(self) -> OidcSection:
        bad = [a for a in self.signature_algorithms if a.upper().startswith("HS") or a == "none"]
        if bad:
            raise ValueError(f"symmetric or empty algorithms are not allowed: {', '.join(bad)}")
        return self


class DevUser(_Section):
    username: str
    password: str = ""
    """Empty: the demo password (`notebooks`, or `--demo-password`)."""
    email: str = ""
    name: str = ""
    groups: list[str] = []


class DevClient(_Section):
    """Another hub registered at the development IdP, e.g. a second zone trying a federation on one
    machine (its `oidc.issuer` is this IdP's URL, its `oidc.client_id` and secret these)."""

    client_id: Annotated[str, Field(min_length=1)]
    client_secret: Annotated[str, Field(min_length=16)]
    redirect_uris: Annotated[list[Annotated[str, Field(pattern=r"^https?://")]], Field(min_length=1)]
    """Its `<public URL>/hub/oauth_callback`."""


def _default_users() -> list[DevUser]:
    return [
        DevUser(username="alice", email="alice@example.org", name="Alice Demo",
                groups=["researchers"]),
        DevUser(username="bob", email="bob@example.org", name="Bob Demo", groups=["researchers"]),
        DevUser(username="admin", email="admin@example.org", name="Admin Demo", groups=["admins"]),
    ]


class DevIdpSection(_Section):
    """The built-in development identity provider. NOT FOR PRODUCTION."""

    enabled: bool = True
    port: Port = 8010
    demo_password: str = "notebooks"
    access_token_lifetime: PositiveSeconds = 300
    id_token_lifetime: PositiveSeconds = 300
    refresh_token_lifetime: PositiveSeconds = 86400
    authorization_code_lifetime: PositiveSeconds = 60
    cli_access_token_format: Literal["jwt", "opaque"] = "jwt"
    """Access tokens `notebooks token` gets: opaque ones exercise token introspection."""
    users: list[DevUser] = Field(default_factory=_default_users)
    clients: list[DevClient] = []
    """Other hubs this IdP serves (besides the one it runs beside)."""

    @model_validator(mode="after")
    def _unique_usernames(self) -> DevIdpSection:
        names = [u.username for u in self.users]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate username(s): {', '.join(dupes)}")
        return self

    def password_of(self, user: DevUser) -> str:
        return user.password or self.demo_password


class TokensSection(_Section):
    """The user's OIDC tokens inside their servers: files, background refresh, environment variables."""

    secrets_dir: str = ""
    """Local servers: root of the per-user token directories, outside the homes.
    Empty: `<data_dir>/secrets-run`."""
    refresh_concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    """At most this many background refreshes talk to the IdP at the same time."""
    retry_initial_delay: Annotated[float, Field(gt=0)] = 2.0
    """Seconds before the first retry when the IdP cannot be reached; doubles on every failure."""
    retry_max_delay: Annotated[float, Field(gt=0)] = 60.0
    """Upper bound of the retry delay while the IdP stays unreachable."""
    env_tokens: dict[str, str] = {}
    """Environment variable -> auth_state field, set once at spawn (e.g. `GCUBE_TOKEN = "access_token"`).
    Never refreshed; visible to collaborators of a shared server. See docs/tokens.md."""

    @model_validator(mode="after")
    def _valid_env_tokens(self) -> TokensSection:
        for name, field in self.env_tokens.items():
            if not _ENV_NAME.fullmatch(name) or name.startswith(("JUPYTERHUB_", "OIDC_")):
                raise ValueError(f"tokens.env_tokens: {name!r} is not an allowed environment variable name")
            if not field:
                raise ValueError(f"tokens.env_tokens.{name}: name an auth_state field")
        return self


class IsolationSection(_Section):
    """One machine, many users: accounts, sandboxes and resource limits of local user servers."""

    mode: Literal["auto", "accounts", "trial"] = "auto"
    """`accounts`: every user's servers run as that user's own system account, in a sandbox, with CPU
    and memory limits (the service must run as root). `trial`: servers run as the invoking user, for one
    person trying the service. `auto`: `accounts` when started as root, else `trial`."""
    account_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,11}$")] = "nb-"
    """System account names are this prefix and the hub user name (made safe)."""
    uid_min: Annotated[int, Field(ge=1000)] = 70000
    """Accounts get uids (and gids) from uid_min to uid_max; an account outside is never reused."""
    uid_max: Annotated[int, Field(ge=1000, le=2**31 - 2)] = 79999
    default_cpu: Annotated[float, Field(gt=0)] = 1.0
    """CPU limit of a server that no credits profile sizes."""
    default_memory_gb: Annotated[float, Field(gt=0)] = 2.0
    """Memory limit (GiB) of a server that no credits profile sizes."""
    start_cpu_boost: bool = True
    """While a server starts (until it first answers), its CPU limit is lifted to the machine's CPUs; its
    own limit applies from then on. A JupyterLab start is a few seconds of CPU that a 1-CPU limit would
    stretch; starts are queued one per CPU, so boosted starts never outnumber the CPUs."""

    @model_validator(mode="after")
    def _range(self) -> IsolationSection:
        if self.uid_min > self.uid_max:
            raise ValueError("isolation.uid_min is above isolation.uid_max")
        return self


class OperatorConfig(_Section):
    """The whole operator config file."""

    service: ServiceSection = ServiceSection()
    oidc: OidcSection = OidcSection()
    dev_idp: DevIdpSection = DevIdpSection()
    tokens: TokensSection = TokensSection()
    credits: CreditsSection = CreditsSection()
    isolation: IsolationSection = IsolationSection()
    kubernetes: KubernetesSection = KubernetesSection()
    zone: ZoneSection = ZoneSection()
    federation: FederationSection = FederationSection()

    @model_validator(mode="after")
    def _issuer_or_dev_idp(self) -> OperatorConfig:
        if not self.oidc.issuer and not self.dev_idp.enabled:
            raise ValueError("oidc.issuer is empty and dev_idp.enabled is false: no identity provider")
        return self

    @model_validator(mode="after")
    def _zone_of_its_federation(self) -> OperatorConfig:
        if self.federation.zones and not self.zone.name:
            raise ValueError("federation.zones is set but zone.name is not: name this hub's zone")
        return self
