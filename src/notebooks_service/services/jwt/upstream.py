"""Forwarding one request to the hub API with the caller's per-user hub token.

One hub round trip per request in the common case; only if the hub rejects a cached token (the
user deleted it, say) is the token checked, replaced and the request sent once more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import unquote

import aiohttp
from yarl import URL

from notebooks_service.services.hub_api import HubUnavailable
from notebooks_service.services.jwt.hub import HubToken, UserTokens
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


def hub_session(limit: int = 256) -> aiohttp.ClientSession:
    """One keep-alive session for every hub call: no cookies, no decompression (bodies are
    relayed as they come), no redirects followed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=30),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("Accept-Encoding",),
        headers={"Accept-Encoding": "identity"},
        timeout=aiohttp.ClientTimeout(total=30, sock_connect=10),
    )


class Upstream:
    """Sends requests to the hub API on behalf of admitted identities."""

    def __init__(self, http: aiohttp.ClientSession, api_url: str, tokens: UserTokens,
                 timeout: float = 120.0) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self.tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)

    async def open(self, identity: Identity, method: str, path: str, query: str,
                   headers: Mapping[str, str], body: bytes) -> aiohttp.ClientResponse:
        """The hub's response, headers read and body not yet (the caller must release it)."""
        path = hub_path(path)
        token, minted = await self.tokens.token_for(identity)
        response = await self._send(token, method, path, query, headers, body)
        if response.status in (401, 403) and not minted and not await self.tokens.hub.accepts(token):
            response.release()
            log.info("hub no longer accepts token %s of %s; issuing another",
                     token.token_id, token.username)
            self.tokens.forget(token)
            token, _ = await self.tokens.token_for(identity)
            response = await self._send(token, method, path, query, headers, body)
        return response

    async def _send(self, token: HubToken, method: str, path: str, query: str,
                    headers: Mapping[str, str], body: bytes) -> aiohttp.ClientResponse:
        # `encoded=True`: the caller's percent-encoding reaches the hub unchanged
        url = URL(f"{self._api_url}/{path}" + (f"?{query}" if query else ""), encoded=True)
        try:
            return await self._http.request(
                method, url, headers=request_headers(headers, token.token), data=body or None,
                timeout=self._stream_timeout if is_stream(path) else self._timeout,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError) as e:
            log.warning("hub %s /%s failed: %s", method, path, type(e).__name__)
            raise HubUnavailable("hub unreachable") from None
