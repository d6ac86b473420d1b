"""The HTTP front: authenticate, forward, relay; errors as the hub's JSON.

aiohttp's low-level server (C HTTP parser, no router) keeps the per-request cost of this extra hop
small next to the hub's own: see docs/benchmarks.md.
"""

from __future__ import annotations

import json
import logging

import aiohttp
from aiohttp import web

from notebooks_service.oidc.verify import InvalidToken, ProviderUnavailable
from notebooks_service.services.hub_api import HubUnavailable
from notebooks_service.services.jwt.identity import BearerAuth, NotAdmitted
from notebooks_service.services.jwt.upstream import (
    FORWARDED_RESPONSE_HEADERS,
    BadPath,
    Upstream,
)

log = logging.getLogger(__name__)

MAX_HEADER_FIELD = 64 * 1024
"""Longest header line accepted (large JWTs); the proxy in front has its own, smaller limit."""
INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers, content_type="application/json",
                        text=json.dumps({"status": status, "message": message}))


class ProxyHandler:
    """Every method of `<prefix><p>` goes to `<hub api>/<p>` as the authenticated user."""

    def __init__(self, prefix: str, auth: BearerAuth, upstream: Upstream) -> None:
        self.base = prefix.rstrip("/")
        self.auth = auth
        self.upstream = upstream
        self.draining = False
        """Set when the service is stopping (`runner.drain`): every answer closes its connection."""

    def tail(self, request: web.BaseRequest) -> str | None:
        """The still percent-encoded path after our prefix, or None outside it."""
        raw = request.raw_path.partition("?")[0]
        if raw == self.base:
            return ""
        if raw.startswith(self.base + "/"):
            return raw[len(self.base) + 1:]
        return None

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        response = await self._answer(request)
        if self.draining:
            response.force_close()
        return response

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        path = self.tail(request)
        if path is None:
            return json_error(404, "Not Found")
        try:
            identity = await self.auth.identify(request.headers.get("Authorization"))
            body = await request.read()
            response = await self.upstream.open(identity, request.method, path,
                                                request.query_string, request.headers, body)
        except InvalidToken as e:
            return json_error(401, str(e), INVALID_TOKEN)
        except NotAdmitted as e:
            return json_error(403, str(e))
        except ProviderUnavailable as e:
            return json_error(503, f"identity provider unavailable: {e}")
        except BadPath:
            return json_error(404, "Not Found")
        except HubUnavailable as e:
            return json_error(502, str(e))
        # a departing client cancels this handler, which releases the hub connection at once
        try:
            return await self._relay(request, response)
        finally:
            response.release()

    async def _relay(self, request: web.BaseRequest,
                     response: aiohttp.ClientResponse) -> web.StreamResponse:
        headers = {name: value for name in FORWARDED_RESPONSE_HEADERS
                   if (value := response.headers.get(name)) is not None}
        status, reason = response.status, response.reason
        if request.method == "HEAD" or status in (204, 304):
            return web.Response(status=status, reason=reason, headers=headers)
        if response.content_type == "text/event-stream":
            return await self._stream(request, response, headers)
        try:
            body = await response.read()
        except (TimeoutError, aiohttp.ClientError):
            return json_error(502, "hub response interrupted")
        return web.Response(status=status, reason=reason, headers=headers, body=body)

    async def _stream(self, request: web.BaseRequest, response: aiohttp.ClientResponse,
                      headers: dict[str, str]) -> web.StreamResponse:
        out = web.StreamResponse(status=response.status, reason=response.reason, headers=headers)
        await out.prepare(request)
        try:
            async for chunk in response.content.iter_any():
                await out.write(chunk)
        except ConnectionResetError:
            log.debug("client left the event stream")
            return out
        except (TimeoutError, aiohttp.ClientError):
            log.warning("hub closed the event stream early")
        await out.write_eof()
        return out


def make_server(prefix: str, auth: BearerAuth, upstream: Upstream, *,
                access_log: bool = False) -> web.Server:
    """The server answering `prefix` (e.g. `/services/jwt/`), the prefix without slash, and 404
    elsewhere."""
    return web.Server(
        ProxyHandler(prefix, auth, upstream),
        handler_cancellation=True,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        max_field_size=MAX_HEADER_FIELD,
        max_line_size=MAX_HEADER_FIELD,
    )
