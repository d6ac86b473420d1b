"""Helpers shared by the JWT service tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fake_provider import FakeProvider

from notebooks_service.config.schema import OidcSection
from notebooks_service.services.jwt.service import JwtService


def oidc_section(provider: FakeProvider, **overrides: object) -> OidcSection:
    values: dict[str, object] = {
        "issuer": provider.issuer, "client_id": provider.client_id,
        "client_secret": provider.client_secret, "audience": "notebooks-hub",
    }
    values.update(overrides)
    return OidcSection(**values)  # type: ignore[arg-type]


@dataclass
class Running:
    service: JwtService
    hub: Any
    provider: FakeProvider
    url: str
    """Our public base, e.g. http://127.0.0.1:1234/services/jwt"""

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)
