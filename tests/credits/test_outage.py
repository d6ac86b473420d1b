"""A zone that loses its ledger keeps its servers running and catches up without a gap or a double
charge; meanwhile starts are refused with a 503 and hub pages keep rendering.

First with a ledger that refuses every connection (cycles at chosen times), then with the real loop
while a real PostgreSQL server is stopped and started again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from notebooks_service.services.credits.config import CreditsSection, Profile
from notebooks_service.services.credits.cycle import Sightings, accounting_cycle, cost
from notebooks_service.services.credits.db import open_engine
from notebooks_service.services.credits.hubconf import bind_section, warning_for
from notebooks_service.services.credits.ledger import UNREACHABLE, Ledger, to_micro, verify
from notebooks_service.services.credits.loop import run_cycles
from notebooks_service.services.credits.metrics import CreditsMetrics
from notebooks_service.services.credits.models import Entry, RunningServer
from notebooks_service.services.credits.spawn import CreditsUnavailable
from tests.credits.fakes import T0, FakeHub, fund, server
from tests.credits.postgres import PostgresServer, running_postgres

PRICE = 3.6  # credits per hour: 1,000 micro-credits per second
SETTINGS = CreditsSection(enabled=True, posting_interval=60, grace_period=120, warning_thresholds=[300],
                          profiles={"small": Profile(price_per_hour=PRICE)})
ZONE = "eu-1"


def charges(ledger: Ledger, user: str) -> list[tuple[datetime, float]]:
    """(time, seconds) of `user`'s charges, oldest first."""
    with ledger.session() as s:
        assert verify(s) == {}
        return [(e.time, e.seconds) for e in s.scalars(
            select(Entry).where(Entry.kind == "charge", Entry.server == f"{user}/").order_by(Entry.time))]


def spans(found: list[tuple[datetime, float]]) -> list[tuple[float, float]]:
    """Charges as (from, to) in seconds after T0."""
    return [((t - T0).total_seconds() - seconds, (t - T0).total_seconds()) for t, seconds in found]


async def test_cycles_after_an_outage_charge_it_once_including_servers_started_or_stopped_in_it(
        ledger: Ledger) -> None:
    down = Ledger(open_engine("postgresql+psycopg://nobody@127.0.0.1:1/ledger"))  # nothing listens
    for user in "abcd":
        fund(ledger, f"user:{user}", 0.2)  # 200 s: empty long before the outage ends
    hub, sightings = FakeHub([server("a"), server("c")]), Sightings()

    async def cycle(seconds: int, on: Ledger) -> int:
        report = await accounting_cycle(hub, on, SETTINGS, T0 + timedelta(seconds=seconds), zone=ZONE,
                                        sightings=sightings)
        return report.charges

    assert [await cycle(0, ledger), await cycle(60, ledger)] == [0, 2]
    for seconds in (120, 180, 240, 300):
        if seconds == 180:
            hub.servers += [server("b"), server("d")]
        if seconds == 300:
            hub.servers = [server("a"), server("b")]  # c and d stop during the outage
        with pytest.raises(UNREACHABLE):
            await cycle(seconds, down)
    assert hub.stopped == [], "an outage stops nothing, though a's and c's wallets ran dry in it"
    assert sorted(sightings.seen) == [f"{ZONE}:{u}/@2025-03-01T09:00:00Z" for u in "abcd"]

    assert await cycle(360, ledger) == 4
    assert sightings.seen == {}
    assert [await cycle(420, ledger), await cycle(420, ledger)] == [2, 0]  # the replay posts nothing
    assert spans(charges(ledger, "a")) == [(0, 60), (60, 360), (360, 420)]
    assert spans(charges(ledger, "b")) == [(180, 360), (360, 420)]  # from its first sighting
    assert spans(charges(ledger, "c")) == [(0, 60), (60, 240)]  # to its last sighting
    assert spans(charges(ledger, "d")) == [(180, 240)]  # started and stopped in the outage
    # a's wallet ran dry at 200 s, in the outage; its grace counts from 360 s, when the ledger said so
    assert hub.stopped == []
    await cycle(480, ledger)
    assert hub.stopped == [("a", "")]
    down.close()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, to stop and start (the session one serves others)."""
    with running_postgres("credits-outage-pg-") as server:
        yield server


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.mark.real_stack
async def test_the_loop_rides_out_a_stopped_postgresql_server(
        own_postgres: PostgresServer, caplog: pytest.LogCaptureFixture) -> None:
    settings = SETTINGS.model_copy(update={"posting_interval": 1})
    ledger = Ledger.open(own_postgres.create_database("ledger"))
    for user in "abcd":
        fund(ledger, f"user:{user}", 100)
    hub, metrics, stop = FakeHub([server("a"), server("c")]), CreditsMetrics(ZONE), asyncio.Event()
    loop = asyncio.create_task(run_cycles(hub, ledger, settings, metrics, stop, ZONE))

    def failures() -> float:
        return metrics.registry.get_sample_value("credits_cycle_failures_total", {"zone": ZONE}) or 0

    async def cycles(more: int) -> None:
        target = len(hub.calls) + more
        await until(lambda: len(hub.calls) >= target, more + 2, f"{more} more cycles")

    try:
        await cycles(3)
        await asyncio.to_thread(own_postgres.pause)
        await cycles(1)
        hub.servers += [server("b"), server("d")]
        await cycles(2)
        hub.servers = [server("a"), server("b")]
        await cycles(1)
        assert failures() >= 3
        await asyncio.to_thread(own_postgres.resume)
        await cycles(1)  # one that began before the server was up may still fail
        outage = failures()
        await cycles(3)
        assert failures() == outage, "a cycle failed after the ledger came back"
    finally:
        stop.set()
        await loop
    assert hub.stopped == []
    assert any("ledger unreachable" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)

    with ledger.session() as s:
        assert verify(s) == {}
    for user in "abcd":
        seen = [at for at, users in hub.calls if user in users]
        found = charges(ledger, user)
        assert found, f"{user} was not charged"
        begins = [t - timedelta(seconds=seconds) for t, seconds in found]
        for (previous, _), begin in zip(found, begins[1:], strict=False):
            assert begin == previous, f"{user}: a gap or an overlap at {begin}"
        # The first charge begins at the first cycle that saw the server, the last ends at the last
        # one (the hub is asked a moment after the cycle takes its time).
        assert timedelta(0) <= seen[0] - begins[0] < timedelta(seconds=0.2), user
        assert timedelta(0) <= seen[-1] - found[-1][0] < timedelta(seconds=0.2), user
        with ledger.session() as s:
            paid = -sum(s.scalars(select(Entry.amount).where(Entry.wallet == f"user:{user}",
                                                             Entry.kind == "charge")))
        assert paid == cost(to_micro(PRICE), begins[0], begins[0], found[-1][0]), f"{user} paid twice"
    ledger.close()


def hub_user(name: str) -> Any:
    """A user as the hub passes it to spawn sections and template variables."""
    return SimpleNamespace(name=name, kind="user", groups=[])


@pytest.mark.real_stack
def test_while_the_ledger_is_down_starts_get_a_503_and_pages_keep_their_warning(
        own_postgres: PostgresServer) -> None:
    settings = SETTINGS.model_copy(update={"posting_interval": 1, "minimum_runway": 0})
    section = bind_section(settings, own_postgres.create_database("hub_side"))
    alice = hub_user("alice")
    spawner = SimpleNamespace(user=alice)
    assert section().validate(spawner, {}) == {"profile": "small", "wallet": "user:alice"}
    now = datetime.now(UTC)
    fund(section.ledger(), "user:alice", 0.1)  # 100 s at her running server's price
    with section.ledger().session.begin() as session:
        session.add(RunningServer(server=f"{ZONE}:alice/@{now.isoformat()}", zone=ZONE, user="alice",
                                  server_name="", wallet="user:alice", profile="small",
                                  price=to_micro(PRICE), ready_since=now, charged_until=now))

    async def pages() -> None:
        """In a loop of its own (the board refreshes on the loop of the first page), ended with it."""
        credits_warning = warning_for(section)
        await until(lambda: credits_warning(alice) != "", 5, "the board's first snapshot")
        warning = credits_warning(alice)
        assert "user:alice lasts 1 min" in warning
        await asyncio.to_thread(own_postgres.pause)
        try:
            with pytest.raises(CreditsUnavailable) as refused:
                section().validate(spawner, {})
            assert refused.value.status_code == 503
            assert "unreachable" in refused.value.jupyterhub_message
            assert "unreachable" in await section().form_html(spawner)
            await asyncio.sleep(2.5)  # two of the board's refreshes fail meanwhile
            assert credits_warning(alice) == warning
        finally:
            await asyncio.to_thread(own_postgres.resume)

    try:
        asyncio.run(pages())
        assert section().validate(spawner, {}) == {"profile": "small", "wallet": "user:alice"}
    finally:
        section.ledger().close()
