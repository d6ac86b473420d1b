"""The zone directory service at `/services/zones/`, run by the hub of every zone.

- `GET /services/zones/`: the directory (every zone, its health, profiles, prices, who may use them);
  public, like the hub's own `/hub/api` version answer.
- `GET /services/zones/self`: this zone's description, what the other zones' directories read.
- `GET /services/zones/metrics`: the other zones' health as Prometheus metrics, labelled by zone.
- `GET /services/zones/api/mine` and `/services/zones/home`: the logged-in user's servers in every
  zone (JSON, and the page that lets users pick a zone).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import httpx
from jinja2 import Environment, PackageLoader, StrictUndefined
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import web

from notebooks_service.config.environment import config_from_environment
from notebooks_service.services.hub_api import HubApi, HubUnavailable
from notebooks_service.services.runner import HubServiceEnvironment, run_service, stop_requested
from notebooks_service.zones.directory import Directory, describe_self, public_url
from notebooks_service.zones.metrics import directory_registry
from notebooks_service.zones.servers import servers_everywhere

log = logging.getLogger("notebooks.zones")

templates = Environment(loader=PackageLoader(__package__, "templates"), autoescape=True,
                        undefined=StrictUndefined)


@dataclass
class ZonesState:
    directory: Directory
    hub: HubApi
    http: httpx.AsyncClient
    prefix: str
    hub_home: str


class JsonHandler(web.RequestHandler):
    @property
    def state(self) -> ZonesState:
        return self.settings["zones"]

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def reply(self, body: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class DirectoryHandler(JsonHandler):
    def get(self) -> None:
        self.reply(self.state.directory.answer())


class SelfHandler(JsonHandler):
    def get(self) -> None:
        self.reply(self.state.directory.own)


class MetricsHandler(JsonHandler):
    """Prometheus text format. Public like the directory it is read from (no user data)."""

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.settings["metrics"]))


class UserHandler(HubOAuthenticated, JsonHandler):
    async def servers(self) -> dict[str, dict[str, Any]]:
        user = self.current_user
        if not user or user.get("kind", "user") != "user":
            raise web.HTTPError(403, "a hub user is required")
        try:
            zones = await servers_everywhere(self.state.directory, self.state.hub, self.state.http,
                                             user["name"])
        except HubUnavailable:
            raise web.HTTPError(503, "this zone's hub cannot be reached; try again shortly") from None
        return {entry["zone"]: entry for entry in zones}


class MineHandler(UserHandler):
    @web.authenticated
    async def get(self) -> None:
        servers = await self.servers()
        self.reply({"user": self.current_user["name"], "zones": list(servers.values())})


class HomeHandler(UserHandler):
    @web.authenticated
    async def get(self) -> None:
        servers = await self.servers()
        directory = self.state.directory.answer()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(templates.get_template("zones.html").render(
            zones=directory["zones"], here=directory["zones"][0], servers=servers,
            any_credits=any(zone.get("credits") for zone in directory["zones"]),
            prefix=self.state.prefix, hub_home=self.state.hub_home))


def make_app(state: ZonesState) -> web.Application:
    prefix = state.prefix
    return web.Application([
        (prefix, DirectoryHandler),
        (prefix + "self", SelfHandler),
        (prefix + "metrics", MetricsHandler),
        (prefix + "api/mine", MineHandler),
        (prefix + "home", HomeHandler),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], zones=state, metrics=directory_registry(state.directory), hub_auth=HubOAuth.instance(),
        cookie_secret=os.urandom(32))


async def serve() -> None:
    env = HubServiceEnvironment.from_environ("/services/zones/")
    config = config_from_environment()
    federation = config.federation
    directory = Directory(describe_self(config, public_url(config)), list(federation.zones),
                          interval=federation.health_interval, timeout=federation.health_timeout)
    hub = HubApi(env.api_url, env.api_token, timeout=10)
    http = httpx.AsyncClient(timeout=httpx.Timeout(federation.health_timeout * 2))
    hub_home = f"{os.environ.get('JUPYTERHUB_BASE_URL', '/')}hub/home"  # as the credits page finds it
    state = ZonesState(directory=directory, hub=hub, http=http, prefix=env.prefix, hub_home=hub_home)
    server = make_app(state).listen(env.port, env.host, xheaders=True)
    log.info("zone directory of %s on %s (%d other zones)", directory.own["name"], env.url,
             len(directory.others))
    stop = stop_requested()
    await directory.run(stop)
    server.stop()
    await directory.aclose()
    await http.aclose()
    await hub.aclose()
    log.info("zone directory stopped")


def main() -> int:
    return run_service(serve, log)
