"""Where a user has servers, in every zone, with the one token that works in all of them.

This zone asks its own hub; every other zone is asked through its JWT API (`/services/jwt`) with the
user's current OIDC access token, which the hub keeps in the user's auth state: the same identity
provider stands behind every zone, so the token that logged the user in here is valid there too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import httpx

from notebooks_service.services.hub_api import HubApi
from notebooks_service.zones.directory import Directory, ZoneView

log = logging.getLogger(__name__)


def server_rows(zone_url: str, model: dict[str, Any]) -> list[dict[str, Any]]:
    """A user's servers as the hub REST API describes them, with links users can open."""
    return [
        {"name": name, "ready": bool(server.get("ready")), "pending": server.get("pending"),
         "started": server.get("started"), "url": zone_url + (server.get("url") or ""),
         "profile": (server.get("user_options") or {}).get("profile")}
        for name, server in sorted((model.get("servers") or {}).items())
    ]


async def remote_servers(http: httpx.AsyncClient, view: ZoneView, user: str, token: str | None
                         ) -> dict[str, Any]:
    zone_url = view.zone.url.rstrip("/")
    answer: dict[str, Any] = {"zone": view.zone.name, "url": zone_url, "servers": []}
    if view.health.status == "down":
        return {**answer, "status": "down", "error": view.health.error}
    if not token:
        return {**answer, "status": "unknown", "error": "no current access token: log in again"}
    try:
        response = await http.get(f"{zone_url}/services/jwt/users/{quote(user, safe='')}",
                                  headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        return {**answer, "status": "down", "error": str(exc) or type(exc).__name__}
    if response.status_code in (401, 403):
        refusal = f"the zone refused the token (HTTP {response.status_code})"
        return {**answer, "status": "refused", "error": refusal}
    if response.status_code == 404:
        return {**answer, "status": "ok"}  # never started anything there
    if response.status_code != 200:
        return {**answer, "status": "down", "error": f"HTTP {response.status_code}"}
    return {**answer, "status": "ok", "servers": server_rows(zone_url, response.json())}


async def servers_everywhere(directory: Directory, hub: HubApi, http: httpx.AsyncClient, user: str
                             ) -> list[dict[str, Any]]:
    """One entry per zone, this one first: its status (`ok`, `down`, `refused`, `unknown`) and the
    user's servers there."""
    model = await hub.user(user) or {}
    own_url = directory.own["url"]
    own = {"zone": directory.own["name"], "url": own_url, "status": "ok",
           "servers": server_rows(own_url, model)}
    token = (model.get("auth_state") or {}).get("access_token")
    others = await asyncio.gather(*(remote_servers(http, view, user, token) for view in directory.others))
    return [own, *others]
