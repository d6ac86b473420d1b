"""Waiting for the services the hub runs itself (token release, credits, zones) before `notebooks up`
says it is up.

The hub's API answers before the hub has started these services and added their proxy routes. A user,
a script or another zone arriving in that moment finds `/services/<name>/` missing (another zone's
directory then shows this one as down). So the launcher waits until the proxy routes to each of them
and each answers at its own port.
"""

from __future__ import annotations

import logging
import time

import httpx

from notebooks_service.hub.config import local_placement
from notebooks_service.launcher.processes import StartupError
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.services.credits.hubconf import SERVICE_NAME as CREDITS
from notebooks_service.tokens.hub import SERVICE_NAME as TOKENS
from notebooks_service.zones.hubconf import SERVICE_NAME as ZONES

log = logging.getLogger(__name__)


def hub_run_services(runtime: Runtime) -> dict[str, str]:
    """The services the hub starts on this machine, by name, with the URL each listens at."""
    config, placement = runtime.config, local_placement(runtime)
    services = {TOKENS: placement.tokens.url}
    if config.credits.enabled:
        services[CREDITS] = placement.credits.url
    if config.zone.name:
        services[ZONES] = placement.zones.url
    return services


def _routed(routes_url: str, headers: dict[str, str]) -> set[str]:
    """The names of the services the proxy has a route for."""
    response = httpx.get(routes_url, headers=headers, timeout=2)
    response.raise_for_status()
    prefix = "/services/"
    return {spec.rstrip("/").removeprefix(prefix) for spec in response.json() if spec.startswith(prefix)}


def _answers(name: str, url: str) -> bool:
    """Whether the service listens: any HTTP answer will do (its pages may ask for a login)."""
    try:
        httpx.get(f"{url}/services/{name}/", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def wait_for_hub_services(runtime: Runtime, timeout: float) -> None:
    """Return once every hub-run service is routed and answers; fail naming those that are not."""
    waiting = hub_run_services(runtime)
    routes_url = f"http://127.0.0.1:{runtime.proxy_api_port}/api/routes"
    headers = {"Authorization": f"token {runtime.layout.secret('proxy_auth_token')}"}
    deadline = time.monotonic() + timeout
    while True:
        try:
            routed = _routed(routes_url, headers)
        except httpx.HTTPError as exc:
            log.debug("proxy routes not readable yet: %s", exc)
            routed = set()
        waiting = {name: url for name, url in waiting.items()
                   if name not in routed or not _answers(name, url)}
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise StartupError(f"the hub's service(s) {', '.join(sorted(waiting))} did not come up in "
                               f"{timeout:.0f}s (the hub's log says why)")
        time.sleep(0.2)
