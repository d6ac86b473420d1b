"""Settings of the JWT service: the hub's environment plus a JSON file holding the `OidcSection`.

The hub starts the service with `JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_API_URL`,
`JUPYTERHUB_SERVICE_PREFIX` and `JUPYTERHUB_SERVICE_URL`; `NOTEBOOKS_JWT_SETTINGS` names the JSON
file. The file is either the `OidcSection` itself or `{"oidc": {...}, "service": {...}}` where the
optional `service` object overrides fields of `ServiceKnobs`. It holds the client secret, so it
is written owner-readable only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notebooks_service.config.schema import OidcSection

SETTINGS_ENV = "NOTEBOOKS_JWT_SETTINGS"


class SettingsError(ValueError):
    """The environment or the settings file is unusable; the message says what to fix."""


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


def parse_settings_document(document: Any) -> tuple[OidcSection, ServiceKnobs]:
    """The OIDC section and knobs from the decoded JSON settings file."""
    if not isinstance(document, dict):
        raise SettingsError("settings file must hold a JSON object")
    oidc_doc = document.get("oidc", document) if "oidc" in document else document
    knobs_doc = document.get("service", {}) if "oidc" in document else {}
    try:
        oidc = OidcSection.model_validate_json(json.dumps(oidc_doc))
    except ValueError as e:
        raise SettingsError(f"invalid oidc settings: {e}") from None
    if not oidc.issuer:
        raise SettingsError("oidc.issuer is empty: the hub config must resolve it before start")
    known = {f.name for f in fields(ServiceKnobs)}
    unknown = sorted(set(knobs_doc) - known)
    if unknown:
        raise SettingsError(f"unknown service settings: {', '.join(unknown)}")
    return oidc, replace(ServiceKnobs(), **knobs_doc)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the hub-provided environment and the settings file it points to."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", SETTINGS_ENV)
               if not env.get(k)]
    if missing:
        raise SettingsError(f"missing environment: {', '.join(missing)}")
    path = Path(env[SETTINGS_ENV])
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SettingsError(f"{path}: {e}") from None
    oidc, knobs = parse_settings_document(document)
    url = urlsplit(env.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:8090")
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/jwt/"
    return Settings(
        oidc=oidc,
        api_token=env["JUPYTERHUB_API_TOKEN"],
        api_url=env["JUPYTERHUB_API_URL"].rstrip("/"),
        prefix=prefix if prefix.endswith("/") else prefix + "/",
        bind_host=url.hostname or "127.0.0.1",
        bind_port=url.port or 80,
        knobs=knobs,
    )


def write_settings(path: str | Path, oidc: OidcSection, **knobs: Any) -> Path:
    """Write a settings file readable only by its owner (it contains the client secret)."""
    path = Path(path)
    document: dict[str, Any] = {"oidc": oidc.model_dump(mode="json"), "service": knobs}
    parse_settings_document(document)  # fail at write time, not when the hub starts us
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(document, f, indent=2)
    os.chmod(path, 0o600)
    return path
