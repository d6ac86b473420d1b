"""The credits service process: a tornado app at `/services/credits` plus the accounting loop.

Settings come from the runtime file the launcher writes (`NOTEBOOKS_RUNTIME`), the hub token and
URLs from the hub's environment. Cycles run at the start of each posting interval (aligned to the
clock), so every process agrees on interval numbers. The process asks the kernel for SIGTERM when
the hub that started it dies, so a hub killed with SIGKILL never leaves a second accounting process
beside the one its restarted successor starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from notebooks_service.config.environment import config_from_environment
from notebooks_service.services.credits.cycle import accounting_cycle
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


async def run_cycles(state: ServiceState, stop: asyncio.Event) -> None:
    """One cycle at the start of every posting interval until `stop` is set; failures are logged."""
    interval = state.settings.posting_interval
    hub = CycleHub(state.hub)
    while not stop.is_set():
        delay = interval - time.time() % interval
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        started = time.perf_counter()
        try:
            report = await accounting_cycle(hub, state.ledger, state.settings, datetime.now(UTC))
        except Exception:
            state.metrics.cycle_failures.inc()
            log.exception("accounting cycle failed; the next one charges what this one did not")
            continue
        seconds = time.perf_counter() - started
        state.metrics.record(report, seconds)
        log.debug("cycle: %d running, %d charges, %d stopped in %.3fs", report.running, report.charges,
                  len(report.stopped), seconds)


async def serve() -> None:
    env = HubServiceEnvironment.from_environ("/services/credits/", "http://127.0.0.1:8091")
    config = config_from_environment()
    settings = config.credits
    ledger = Ledger.open(settings.ledger_url(config.service.data_dir))
    hub = HubApi(env.api_url, env.api_token)
    state = ServiceState(ledger=ledger, settings=settings, hub=hub, metrics=CreditsMetrics(),
                         prefix=env.prefix, hub_home=f"{os.environ.get('JUPYTERHUB_BASE_URL', '/')}hub/home",
                         identities={})
    server = make_app(state).listen(env.port, env.host, xheaders=True)
    log.info("credits service on %s, posting every %ds", env.url, settings.posting_interval)
    await run_cycles(state, stop_requested())
    server.stop()
    await hub.aclose()
    ledger.close()
    log.info("credits service stopped")


def main() -> int:
    return run_service(serve, log, level=os.environ.get("NOTEBOOKS_CREDITS_LOG_LEVEL", "INFO"),
                       quiet=("tornado.access",))
