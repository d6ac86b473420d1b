"""The release service's tornado application: one endpoint, the decision lives in `core`."""

from __future__ import annotations

import json
import logging

from tornado import web

from notebooks_service.oidc.authorization import MalformedAuthorization, credentials
from notebooks_service.services.hub_api import HubApi, HubUnavailable
from notebooks_service.services.runner import HubServiceEnvironment, run_service, stop_requested
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


async def serve() -> None:
    """Serve until SIGINT or SIGTERM (the hub stops its services with them)."""
    env = HubServiceEnvironment.from_environ("/services/tokens/")
    hub = HubApi(env.api_url, env.api_token, timeout=10)
    server = make_app(hub, env.prefix).listen(env.port, env.host)
    log.info("Token release service listening on %s", env.url)
    await stop_requested().wait()
    server.stop()
    await hub.aclose()
    log.info("Token release service stopped")


def main() -> int:
    """Run as a hub-managed service; the hub passes everything through JUPYTERHUB_* variables."""
    return run_service(serve, log)
