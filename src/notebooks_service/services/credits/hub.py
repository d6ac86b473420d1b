"""The few hub REST API calls the credits service makes, with its own token (see `hubconf.SCOPES`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

PAGINATION = "application/jupyterhub-pagination+json"


@dataclass(frozen=True)
class ServerSnapshot:
    """One server as the hub reports it."""

    user: str
    name: str
    started: str
    ready: bool
    groups: tuple[str, ...] = ()
    user_options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """One key per start of a server, so a restarted server is a new charging session."""
        return f"{self.user}/{self.name}@{self.started}"

    @property
    def label(self) -> str:
        return f"{self.user}/{self.name}"


class HubClient:
    """Async client of the hub API; paged listing, bounded concurrency for stops."""

    def __init__(self, api_url: str, token: str, concurrency: int = 10, page_size: int = 200) -> None:
        self.http = httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=30,
                                      headers={"Authorization": f"token {token}"})
        self.semaphore = asyncio.Semaphore(concurrency)
        self.page_size = page_size

    async def _get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params, headers={"Accept": PAGINATION})
        if response.is_error:
            log.error("GET %s%s -> %d", self.http.base_url, path, response.status_code)
            response.raise_for_status()
        return response.json()

    async def active_servers(self) -> list[ServerSnapshot]:
        """Every server that is running or starting, from `/users?state=active`, page by page."""
        servers: list[ServerSnapshot] = []
        offset = 0
        while True:
            page = await self._get("/users", state="active", offset=offset, limit=self.page_size)
            for user in page["items"]:
                for name, server in (user.get("servers") or {}).items():
                    servers.append(ServerSnapshot(
                        user=user["name"], name=name, started=server.get("started") or "",
                        ready=bool(server.get("ready")), groups=tuple(user.get("groups") or ()),
                        user_options=server.get("user_options") or {}))
            following = (page.get("_pagination") or {}).get("next")
            if not following:
                return servers
            offset = following["offset"]

    async def stop_server(self, user: str, name: str) -> None:
        path = f"/users/{quote(user, safe='')}/" + (f"servers/{quote(name, safe='')}" if name else "server")
        async with self.semaphore:
            response = await self.http.delete(path)
        if response.is_error:
            log.error("DELETE %s%s -> %d", self.http.base_url, path, response.status_code)
            response.raise_for_status()

    async def user(self, name: str) -> dict[str, Any] | None:
        response = await self.http.get(f"/users/{quote(name, safe='')}")
        if response.status_code == 404:
            return None
        if response.is_error:
            log.error("GET %s/users/%s -> %d", self.http.base_url, name, response.status_code)
            response.raise_for_status()
        return dict(response.json())

    async def aclose(self) -> None:
        await self.http.aclose()
