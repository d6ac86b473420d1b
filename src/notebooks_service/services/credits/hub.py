"""The hub as the accounting cycle reads it: running servers as charging sessions (see `hubconf.SCOPES`).

The HTTP calls are the shared hub client's (`services.hub_api`); what is the credits service's own is
what a server means for charging and how many stops it asks for at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from notebooks_service.services.hub_api import HubApi


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


class CycleHub:
    """`cycle.Hub` over the hub API; stops at most `concurrency` servers at once, so that a cycle
    that empties many wallets does not flood the hub with spawner stops."""

    def __init__(self, api: HubApi, concurrency: int = 10) -> None:
        self.api = api
        self.semaphore = asyncio.Semaphore(concurrency)

    async def active_servers(self) -> list[ServerSnapshot]:
        """Every server that is running or starting."""
        return [
            ServerSnapshot(user=user["name"], name=name, started=server.get("started") or "",
                           ready=bool(server.get("ready")), groups=tuple(user.get("groups") or ()),
                           user_options=server.get("user_options") or {})
            for user in await self.api.active_users()
            for name, server in (user.get("servers") or {}).items()
        ]

    async def stop_server(self, user: str, name: str) -> None:
        async with self.semaphore:
            await self.api.stop_server(user, name)
