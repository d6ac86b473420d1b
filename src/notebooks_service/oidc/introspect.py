"""Token introspection (RFC 7662) for opaque access tokens that cannot be verified locally."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from notebooks_service.oidc.discovery import ProviderMetadata
from notebooks_service.oidc.verify import (
    InvalidToken,
    ProviderUnavailable,
    check_characters,
    time_claim,
)

log = logging.getLogger(__name__)

ACCESS_TOKEN_TYPES = frozenset({"bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token"})
"""`token_type` values of an access token in an introspection answer (RFC 7662 leaves it free-form).
IdPs introspect their refresh tokens as active too: those must never work as bearer tokens."""


class Introspector:
    """Asks the provider whether an opaque token is active, authenticating as our client."""

    def __init__(
        self,
        metadata: ProviderMetadata,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not metadata.introspection_endpoint:
            raise ValueError(f"{metadata.issuer} publishes no introspection endpoint")
        self.metadata = metadata
        self.endpoint = metadata.introspection_endpoint
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._http = http
        self._timeout = timeout

    async def introspect(self, token: str) -> dict[str, Any]:
        """The introspection response of an active token; InvalidToken when it is not active."""
        check_characters(token)
        data = {"token": token, "token_type_hint": "access_token"}
        try:
            if self._http is None:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.post(self.endpoint, data=data, auth=self._auth)
            else:
                response = await self._http.post(
                    self.endpoint, data=data, auth=self._auth, timeout=self._timeout
                )
        except httpx.HTTPError as e:
            log.warning("introspection at %s failed: %s", self.endpoint, type(e).__name__)
            raise ProviderUnavailable("token introspection unavailable") from None
        if response.status_code != 200:
            # 401/403 here means *our* client credentials were refused: not the caller's fault
            log.warning("introspection at %s: HTTP %s", self.endpoint, response.status_code)
            raise ProviderUnavailable("token introspection unavailable")
        try:
            result = response.json()
        except ValueError:
            raise ProviderUnavailable("token introspection unavailable") from None
        if not isinstance(result, dict):
            raise ProviderUnavailable("token introspection unavailable")
        return self._check(result)

    def _check(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("active") is not True:
            raise InvalidToken("token is not active")
        kind = result.get("token_type")
        if kind is not None and str(kind).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("not an access token")
        iss = result.get("iss")
        if iss is not None and str(iss).rstrip("/") != self.metadata.issuer.rstrip("/"):
            raise InvalidToken("wrong issuer")
        exp = time_claim(result, "exp")
        if exp is not None and exp < time.time():
            raise InvalidToken("token expired")
        return result
