"""Settings of the development IdP, written as JSON by the launcher. NOT FOR PRODUCTION.

The IdP runs in its own process, so everything it needs (issuer, users, clients, lifetimes) travels
in one validated document rather than being re-derived from the operator config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from notebooks_service.config.schema import DevIdpSection

_GRANT_TYPES = {"authorization_code", "refresh_token", "password"}


class IdpClient(BaseModel):
    """One registered OAuth client. An empty secret makes it public (PKCE mandatory)."""

    model_config = ConfigDict(extra="forbid")

    client_id: str
    client_secret: str = ""
    redirect_uris: list[str] = []
    grant_types: list[str] = ["authorization_code", "refresh_token"]
    access_token_format: Literal["jwt", "opaque"] = "jwt"

    @field_validator("grant_types")
    @classmethod
    def _known_grant_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - _GRANT_TYPES)
        if unknown:
            raise ValueError(f"unsupported grant type(s): {', '.join(unknown)}")
        return value

    @property
    def is_public(self) -> bool:
        return not self.client_secret


class IdpSettings(BaseModel):
    """Everything the development IdP process needs."""

    model_config = ConfigDict(extra="forbid")

    issuer: str
    host: str = "127.0.0.1"
    port: int
    state_dir: str
    dev_idp: DevIdpSection
    clients: list[IdpClient]
    groups_claim: str = "eduperson_entitlement"

    @field_validator("issuer")
    @classmethod
    def _issuer_without_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("issuer must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _unique_client_ids(self) -> IdpSettings:
        ids = [c.client_id for c in self.clients]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate client_id(s): {', '.join(dupes)}")
        return self

    def client(self, client_id: str) -> IdpClient | None:
        return next((c for c in self.clients if c.client_id == client_id), None)


def load_settings(path: str | Path) -> IdpSettings:
    """Read and validate the launcher's JSON settings file."""
    return IdpSettings.model_validate_json(Path(path).read_text(encoding="utf-8"))
