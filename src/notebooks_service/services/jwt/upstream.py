"""Forwarding one request to the hub API with the caller's per-user hub token.

One hub round trip per request in the common case; only if the hub rejects a cached token (the
user deleted it, say) is the token checked, replaced and the request sent once more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import unquote

import httpx

from notebooks_service.services.jwt.hub import HubToken, HubUnavailable, UserTokens
from notebooks_service.services.jwt.identity import Identity

log = logging.getLogger(__name__)

FORWARDED_REQUEST_HEADERS = (
    "accept", "content-type", "user-agent", "if-none-match", "if-modified-since",
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip",
)
"""Caller headers passed to the hub. `Authorization` and cookies never are."""

FORWARDED_RESPONSE_HEADERS = (
    "content-type", "location", "link", "cache-control", "etag", "last-modified", "retry-after",
    "content-disposition", "x-jupyterhub-version", "x-accel-buffering",
)
"""Hub response headers passed back to the caller (pagination, redirects, caching)."""


class BadPath(ValueError):
    """The path tries to leave the hub API (dot segments)."""


def hub_path(path: str) -> str:
    """The hub API path for the part of our URL after the prefix, refusing dot segments."""
    path = path.lstrip("/")
    for segment in path.split("/"):
        if unquote(segment) in {".", ".."} or "\\" in unquote(segment):
            raise BadPath(path)
    return path


def request_headers(incoming: Mapping[str, str], hub_token: str) -> dict[str, str]:
    headers = {k: v for k, v in ((h, incoming.get(h)) for h in FORWARDED_REQUEST_HEADERS) if v}
    headers["authorization"] = f"token {hub_token}"
    return headers


def is_stream(path: str) -> bool:
    return path.rstrip("/").endswith("/progress")


class Upstream:
    """Sends requests to the hub API on behalf of admitted identities."""

    def __init__(self, http: httpx.AsyncClient, api_url: str, tokens: UserTokens,
                 timeout: float = 120.0) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self.tokens = tokens
        self._timeout = httpx.Timeout(timeout, connect=10.0)
        self._stream_timeout = httpx.Timeout(None, connect=10.0)

    async def open(self, identity: Identity, method: str, path: str, query: str,
                   headers: Mapping[str, str], body: bytes) -> httpx.Response:
        """The hub's response, headers read and body not yet (the caller must `aclose` it)."""
        path = hub_path(path)
        token, minted = await self.tokens.token_for(identity)
        response = await self._send(token, method, path, query, headers, body)
        if response.status_code in (401, 403) and not minted and not await self._works(token):
            await response.aclose()
            log.info("hub no longer accepts token %s of %s; issuing another",
                     token.token_id, token.username)
            self.tokens.forget(token)
            token, _ = await self.tokens.token_for(identity)
            response = await self._send(token, method, path, query, headers, body)
        return response

    async def _send(self, token: HubToken, method: str, path: str, query: str,
                    headers: Mapping[str, str], body: bytes) -> httpx.Response:
        url = f"{self._api_url}/{path}" + (f"?{query}" if query else "")
        request = self._http.build_request(
            method, url, headers=request_headers(headers, token.token), content=body or None,
            timeout=self._stream_timeout if is_stream(path) else self._timeout,
        )
        try:
            return await self._http.send(request, stream=True)
        except httpx.HTTPError as e:
            log.warning("hub %s /%s failed: %s", method, path, type(e).__name__)
            raise HubUnavailable("hub unreachable") from None

    async def _works(self, token: HubToken) -> bool:
        try:
            probe = await self._http.get(f"{self._api_url}/user",
                                         headers={"authorization": f"token {token.token}"})
        except httpx.HTTPError:
            raise HubUnavailable("hub unreachable") from None
        return probe.status_code == 200
