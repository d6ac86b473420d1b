"""The credits service process: a tornado app at `/services/credits` plus the accounting loop.

Settings come from the runtime file the launcher writes (`NOTEBOOKS_RUNTIME`), the hub token and
URLs from the hub's environment; the zone (`[zone] name`), which keys and labels its charges and
metrics, from the operator file. Cycles run at the start of each posting interval (`loop.run_cycles`).
The process asks the kernel for SIGTERM when the hub that started it dies, so a hub killed with
SIGKILL never leaves a second accounting process beside the one its restarted successor starts.
"""

from __future__ import annotations

import logging
import os

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from notebooks_service.config.environment import config_from_environment
from notebooks_service.services.credits.handlers import (
    EntriesHandler,
    HistoryCsvHandler,
    HistoryHandler,
    MetricsHandler,
    PageHandler,
    ServiceState,
    StatusHandler,
)
from notebooks_service.services.credits.hub import CycleHub
from notebooks_service.services.credits.ledger import Ledger
from notebooks_service.services.credits.loop import run_cycles
from notebooks_service.services.credits.metrics import CreditsMetrics
from notebooks_service.services.hub_api import HubApi
from notebooks_service.services.runner import HubServiceEnvironment, run_service, stop_requested

log = logging.getLogger("notebooks_service.services.credits")


def make_app(state: ServiceState) -> web.Application:
    prefix = state.prefix
    routes = [
        (prefix, PageHandler),
        (url_path_join(prefix, "api/status"), StatusHandler),
        (url_path_join(prefix, "api/history"), HistoryHandler),
        (url_path_join(prefix, "api/history.csv"), HistoryCsvHandler),
        (url_path_join(prefix, r"api/wallets/([^/]+)/entries"), EntriesHandler),
        (url_path_join(prefix, "metrics"), MetricsHandler),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ]
    return web.Application(routes, credits=state, hub_auth=HubOAuth.instance(),
                           cookie_secret=os.urandom(32))


async def serve() -> None:
    env = HubServiceEnvironment.from_environ("/services/credits/", "http://127.0.0.1:8091")
    config = config_from_environment()
    settings = config.credits
    zone = config.zone.name or ""
    ledger = Ledger.open(settings.ledger_url(config.service.data_dir))
    hub = HubApi(env.api_url, env.api_token)
    state = ServiceState(ledger=ledger, settings=settings, hub=hub, metrics=CreditsMetrics(zone),
                         prefix=env.prefix, hub_home=f"{os.environ.get('JUPYTERHUB_BASE_URL', '/')}hub/home",
                         identities={}, zone=zone)
    server = make_app(state).listen(env.port, env.host, xheaders=True)
    log.info("credits service on %s, posting every %ds%s", env.url, settings.posting_interval,
             f" for zone {zone}" if zone else "")
    await run_cycles(CycleHub(hub), ledger, settings, state.metrics, stop_requested(), zone)
    server.stop()
    await hub.aclose()
    ledger.close()
    log.info("credits service stopped")


def main() -> int:
    return run_service(serve, log, level=os.environ.get("NOTEBOOKS_CREDITS_LOG_LEVEL", "INFO"),
                       quiet=("tornado.access",))
