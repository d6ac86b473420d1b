"""The tornado application: authenticate, forward, relay; errors as the hub's JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import httpx
from tornado import web
from tornado.iostream import StreamClosedError

from notebooks_service.oidc.verify import InvalidToken, ProviderUnavailable
from notebooks_service.services.jwt.hub import HubUnavailable
from notebooks_service.services.jwt.identity import BearerAuth, NotAdmitted
from notebooks_service.services.jwt.upstream import (
    FORWARDED_RESPONSE_HEADERS,
    BadPath,
    Upstream,
)

log = logging.getLogger(__name__)


class ProxyHandler(web.RequestHandler):
    """Every method of `<prefix><p>` goes to `<hub api>/<p>` as the authenticated user."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, auth: BearerAuth, upstream: Upstream) -> None:
        self.auth = auth
        self.upstream = upstream
        self._upstream_response: httpx.Response | None = None

    def check_xsrf_cookie(self) -> None:
        """Bearer-token API: cookies are never used, so there is nothing for XSRF to protect."""

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def json_error(self, status: int, message: str, **headers: str) -> None:
        self.clear()
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name.replace("_", "-"), value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status, "message": message}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": self._reason}))

    async def _handle(self, path: str | None = None) -> None:
        request = self.request
        try:
            identity = await self.auth.identify(request.headers.get("Authorization"))
        except InvalidToken as e:
            return self.json_error(401, str(e), WWW_Authenticate='Bearer error="invalid_token"')
        except NotAdmitted as e:
            return self.json_error(403, str(e))
        except ProviderUnavailable as e:
            return self.json_error(503, f"identity provider unavailable: {e}")
        try:
            response = await self.upstream.open(
                identity, request.method or "GET", path or "", request.query,
                request.headers, request.body)
        except BadPath:
            return self.json_error(404, "Not Found")
        except HubUnavailable as e:
            return self.json_error(502, str(e))
        self._upstream_response = response
        try:
            await self._relay(response)
        finally:
            await response.aclose()

    async def _relay(self, response: httpx.Response) -> None:
        self.set_status(response.status_code, response.reason_phrase or None)
        for name in FORWARDED_RESPONSE_HEADERS:
            value = response.headers.get(name)
            if value is not None:
                self.set_header(name, value)
        if self.request.method == "HEAD" or response.status_code in (204, 304):
            await response.aread()
            self.finish()
            return
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            try:
                async for chunk in response.aiter_raw():
                    self.write(chunk)
                    await self.flush()
            except StreamClosedError:
                log.debug("client left the event stream")
                return
            except (httpx.HTTPError, httpx.StreamError):
                if self.request.connection.stream.closed():  # type: ignore[union-attr]
                    return
                log.warning("hub closed the event stream early")
            self.finish()
            return
        try:
            body = await response.aread()
        except httpx.HTTPError:
            return self.json_error(502, "hub response interrupted")
        self.finish(body)

    def on_connection_close(self) -> None:
        # a departing client frees the hub connection of a quiet event stream at once
        if self._upstream_response is not None:
            self._closing = asyncio.ensure_future(self._upstream_response.aclose())

    get = head = post = delete = patch = put = options = _handle  # type: ignore[assignment]


def make_app(prefix: str, auth: BearerAuth, upstream: Upstream, **settings: Any) -> web.Application:
    """The application serving `prefix` (e.g. `/services/jwt/`) and the prefix without slash."""
    base = re.escape(prefix.rstrip("/"))
    args = {"auth": auth, "upstream": upstream}
    return web.Application(
        [(rf"{base}/?", ProxyHandler, args), (rf"{base}/(.*)", ProxyHandler, args)],
        xsrf_cookies=False,
        **settings,
    )
