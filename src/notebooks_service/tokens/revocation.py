"""RFC 7009 token revocation at the IdP, authenticated as the hub's OAuth client."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)


class Revoker:
    """Revokes access tokens that may have been seen by someone other than their owner."""

    def __init__(self, endpoint: str | None, client_id: str, client_secret: str, timeout: float = 10) -> None:
        self.endpoint = endpoint
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._timeout = timeout

    async def revoke(self, tokens: list[str]) -> int:
        """Revoke each token; returns how many the IdP accepted. Failures are logged, not raised."""
        if not self.endpoint:
            log.warning("The IdP publishes no revocation endpoint: %d exposed token(s) stay valid "
                        "until they expire", len(tokens))
            return 0
        revoked = 0
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            for token in tokens:
                data = {"token": token, "token_type_hint": "access_token"}
                try:
                    response = await client.post(self.endpoint, data=data, auth=self._auth)
                except httpx.HTTPError as exc:
                    log.warning("POST %s failed: %s", self.endpoint, type(exc).__name__)
                    continue
                if response.status_code == 200:
                    revoked += 1
                else:
                    log.warning("POST %s: HTTP %s", self.endpoint, response.status_code)
        return revoked
