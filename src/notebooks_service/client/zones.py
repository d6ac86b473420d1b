"""The zones a command can reach, read from the zone directory of the hub it starts from.

Every hub of a federation serves the directory at `/services/zones/` without authentication. A hub
without a `[zone]` may not serve it (the hub answers 404): the client then works with that hub alone,
as one unnamed zone, so the same commands serve a single hub and a federation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from notebooks_service.client.errors import ClientError, ZoneDown

log = logging.getLogger(__name__)

DIRECTORY_PATH = "/services/zones/"


@dataclass(frozen=True)
class Zone:
    name: str | None
    """None for a hub outside any federation."""
    url: str
    """Base URL without a trailing slash; for the starting hub, the URL the user gave (which is known
    to work from here, whatever public URL the hub advertises)."""
    health: str = "unknown"
    """The directory's last view (`up`, `down`, `unknown`); the client still asks the zone itself."""
    profiles: tuple[str, ...] = ()
    credits: bool | None = None
    """Whether the zone runs the credits service; None when the directory does not say."""

    @property
    def label(self) -> str:
        """How messages name the zone."""
        return f"zone {self.name} ({self.url})" if self.name else f"the hub at {self.url}"


@dataclass(frozen=True)
class Federation:
    hub_url: str
    zones: tuple[Zone, ...]

    def pick(self, name: str | None) -> Zone:
        """The zone called `name`; without a name, the starting hub's own zone."""
        if name is None:
            return next((zone for zone in self.zones if zone.url == self.hub_url), self.zones[0])
        for zone in self.zones:
            if zone.name == name:
                return zone
        known = [zone.name for zone in self.zones if zone.name]
        if not known:
            raise ClientError(f"unknown zone {name!r}: {self.hub_url} is a single hub without zones; "
                              "leave out --zone")
        raise ClientError(f"unknown zone {name!r}; known zones: {', '.join(known)}")


def _zone(entry: dict[str, Any], hub_url: str) -> Zone:
    own = bool(entry.get("self"))
    health = entry.get("health") or {}
    return Zone(
        name=entry.get("name") or None,
        url=hub_url if own else str(entry["url"]).rstrip("/"),
        health=str(health.get("status") or "unknown"),
        profiles=tuple(str(p["name"]) for p in entry.get("profiles") or ()),
        credits=entry.get("credits"),
    )


async def discover(http: httpx.AsyncClient, hub_url: str) -> Federation:
    """The federation as `hub_url`'s directory lists it, or that hub alone."""
    hub_url = hub_url.rstrip("/")
    single = Federation(hub_url, (Zone(name=None, url=hub_url),))
    try:
        response = await http.get(hub_url + DIRECTORY_PATH, follow_redirects=True)
    except httpx.TimeoutException:
        raise ZoneDown(f"the hub at {hub_url} did not answer within {_seconds(http)}") from None
    except httpx.HTTPError as exc:
        raise ZoneDown(f"the hub at {hub_url} does not answer: {exc or type(exc).__name__}") from None
    if response.status_code == 404:
        log.debug("%s serves no zone directory: a single hub", hub_url)
        return single
    if response.status_code != 200:
        raise ZoneDown(f"the hub at {hub_url} answered HTTP {response.status_code} for its zone "
                       "directory")
    try:
        entries = response.json()["zones"]
        zones = tuple(_zone(entry, hub_url) for entry in entries)
    except (ValueError, KeyError, TypeError):
        raise ClientError(f"the hub at {hub_url} serves no readable zone directory at "
                          f"{DIRECTORY_PATH}") from None
    return Federation(hub_url, zones) if zones else single


def _seconds(http: httpx.AsyncClient) -> str:
    read = http.timeout.read
    return f"{read:g} s" if read is not None else "the time allowed"
