"""A hub as the accounting cycle sees it, and ledger shortcuts, for cycle tests without a hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from notebooks_service.services.credits.hub import ServerSnapshot
from notebooks_service.services.credits.ledger import Ledger, NewEntry, balances, post, to_micro

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class FakeHub:
    """`cycle.Hub` over a list of servers the test changes; it remembers when it was asked and what
    it answered, so that a test running the real loop knows which cycle saw which server."""

    servers: list[ServerSnapshot] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    calls: list[tuple[datetime, frozenset[str]]] = field(default_factory=list)
    """(time of the call, users with a ready server) for each `active_servers` call."""

    async def active_servers(self) -> list[ServerSnapshot]:
        self.calls.append((datetime.now(UTC), frozenset(s.user for s in self.servers if s.ready)))
        return list(self.servers)

    async def stop_server(self, user: str, name: str) -> None:
        self.stopped.append((user, name))
        self.servers = [s for s in self.servers if (s.user, s.name) != (user, name)]


def server(user: str, ready: bool = True, groups: tuple[str, ...] = ("researchers",),
           started: str = "2025-03-01T09:00:00Z", **options: str) -> ServerSnapshot:
    return ServerSnapshot(user=user, name="", started=started, ready=ready, groups=groups,
                          user_options=dict(options))


def fund(ledger: Ledger, wallet: str, credits: float) -> None:
    with ledger.session.begin() as s:
        post(s, [NewEntry(time=T0, wallet=wallet, kind="adjustment", amount=to_micro(credits),
                          actor="test", reason="funding")])


def balance(ledger: Ledger, wallet: str) -> int:
    with ledger.session() as s:
        return balances(s, [wallet])[wallet]
