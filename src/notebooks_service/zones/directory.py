"""The zone directory: this zone as it describes itself, and the other zones as last seen.

Every zone answers `GET /services/zones/self` with its own description (name, URL, profiles with
prices and the groups that may use them, whether credits are on). The directory of a zone is its own
description plus the others', refreshed in the background: a page or an API call reads the last
result and never waits for a zone that does not answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import httpx

from notebooks_service.config.schema import OperatorConfig
from notebooks_service.zones.config import FederationZone

log = logging.getLogger(__name__)

SELF_PATH = "services/zones/self"


def public_url(config: OperatorConfig) -> str:
    """The URL users open for this zone: configured, the Kubernetes release's, or `notebooks up`'s."""
    service = config.service
    return (config.zone.public_url or config.kubernetes.public_url
            or f"http://{service.ip}:{service.port}").rstrip("/")


def describe_self(config: OperatorConfig, public_url: str) -> dict[str, Any]:
    """This zone's public description (no user data: anyone may read it)."""
    credits = config.credits
    profiles = [
        {"name": name, "description": p.description, "cpu": p.cpu, "memory_gb": p.memory_gb, "gpu": p.gpu,
         "price_per_hour": p.price_per_hour, "groups": list(p.groups)}
        for name, p in (credits.profiles.items() if credits.enabled else ())
    ]
    return {"name": config.zone.name, "display_name": config.zone.label, "url": public_url,
            "version": version("notebooks-service"), "credits": credits.enabled, "profiles": profiles}


@dataclass
class Health:
    status: str = "unknown"
    """`up`, `down`, or `unknown` before the first check."""
    checked_at: str | None = None
    latency_ms: int | None = None
    error: str | None = None


@dataclass
class ZoneView:
    """Another zone as last seen."""

    zone: FederationZone
    health: Health = field(default_factory=Health)
    description: dict[str, Any] = field(default_factory=dict)

    def answer(self) -> dict[str, Any]:
        seen = self.description
        return {"name": self.zone.name, "display_name": self.zone.display_name or seen.get("display_name")
                or self.zone.name, "url": self.zone.url.rstrip("/"), "self": False,
                "health": asdict(self.health), "credits": seen.get("credits"),
                "profiles": seen.get("profiles", [])}


class Directory:
    """The federation from this zone: checks the others every `interval` seconds, `timeout` each."""

    def __init__(self, own: dict[str, Any], others: list[FederationZone], *, interval: float,
                 timeout: float) -> None:
        self.own = own
        self.others = [ZoneView(zone) for zone in others if zone.name != own["name"]]
        self.interval = interval
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False)

    def answer(self) -> dict[str, Any]:
        own = {**self.own, "self": True, "health": asdict(Health(status="up", checked_at=_now()))}
        return {"zone": self.own["name"], "zones": [own, *(view.answer() for view in self.others)]}

    def view(self, name: str) -> ZoneView | None:
        return next((view for view in self.others if view.zone.name == name), None)

    async def check(self, view: ZoneView) -> None:
        started = time.monotonic()
        url = f"{view.zone.url.rstrip('/')}/{SELF_PATH}"
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            described = response.json()
            if described.get("name") != view.zone.name:
                raise ValueError(f"it says it is zone {described.get('name')!r}")
        except (httpx.HTTPError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            if view.health.status != "down":
                log.warning("zone %s is down: %s", view.zone.name, reason)
            view.health = Health(status="down", checked_at=_now(), error=reason)
            return
        if view.health.status != "up":
            log.info("zone %s is up", view.zone.name)
        view.description = described
        latency = round(1000 * (time.monotonic() - started))
        view.health = Health(status="up", checked_at=_now(), latency_ms=latency)

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(view) for view in self.others))

    async def run(self, stop: asyncio.Event) -> None:
        """Check every zone now, then every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            await self.check_all()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            except TimeoutError:
                continue

    async def aclose(self) -> None:
        await self._http.aclose()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
