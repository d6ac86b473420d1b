"""The release service's tornado application: one endpoint, the decision lives in `core`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from urllib.parse import urlparse

from tornado import web

from notebooks_service.oidc.authorization import MalformedAuthorization, credentials
from notebooks_service.services.hub_api import HubApi, HubUnavailable
from notebooks_service.services.lifeline import die_with_parent
from notebooks_service.tokens.contract import RELEASE_AUTH_SCHEMES, RELEASE_ROUTE, refusal_answer
from notebooks_service.tokens.release.core import HubView, Refusal, release

log = logging.getLogger("notebooks.tokens.release")


class TokenHandler(web.RequestHandler):
    """`GET <prefix>api/token/<owner>[/<server>]` with the server's own hub token."""

    def initialize(self, hub: HubView) -> None:
        self.hub = hub

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def reply(self, status: int, body: dict[str, object]) -> None:
        self.set_status(status)
        self.finish(json.dumps(body))

    async def get(self, owner: str, server: str | None) -> None:
        try:
            token = credentials(self.request.headers.get("Authorization"), RELEASE_AUTH_SCHEMES)
        except MalformedAuthorization as malformed:
            self.reply(401, refusal_answer(f"{malformed}: send the server's hub token"))
            return
        try:
            granted = await release(self.hub, token, owner, server or "")
        except Refusal as refusal:
            log.info("Refused the token of %s/%s: %s", owner, server or "", refusal)
            self.reply(refusal.status, refusal_answer(str(refusal)))
            return
        except HubUnavailable as exc:
            log.warning("Hub API unavailable: %s", exc)
            self.reply(503, refusal_answer("the hub cannot be reached; try again shortly"))
            return
        log.info("Released the token of %s to their server %r", owner, server or "")
        self.reply(200, granted.answer())


def make_app(hub: HubView, prefix: str) -> web.Application:
    return web.Application([
        (prefix + RELEASE_ROUTE, TokenHandler, {"hub": hub}),
    ])


async def serve(hub: HubApi, prefix: str, port: int, host: str) -> None:
    """Serve until SIGINT or SIGTERM (the hub stops its services with them)."""
    server = make_app(hub, prefix).listen(port, host)
    log.info("Token release service listening on http://%s:%s%s", host, port, prefix)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()
    await hub.aclose()
    log.info("Token release service stopped")


def main() -> None:
    """Run as a hub-managed service; the hub passes everything through JUPYTERHUB_* variables."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s")
    hub = HubApi(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"], timeout=10)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/tokens/")
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    die_with_parent()
    asyncio.run(serve(hub, prefix, url.port or 80, url.hostname or "127.0.0.1"))
