"""Zones sharing one ledger: two zones' accounting cycles, each with its own hub, charge one wallet.

Before zones, a cycle deleted every `running_servers` row its hub did not report, so two hubs on
one ledger restarted each other's charging from "now" at every cycle; and their charge keys did not
say whose server they charged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select

from notebooks_service.services.credits.config import CreditsSection, GroupGrant, Profile
from notebooks_service.services.credits.cycle import CycleReport, accounting_cycle, session_key
from notebooks_service.services.credits.handlers import CSV_COLUMNS, csv_chunk, entry_json
from notebooks_service.services.credits.hub import ServerSnapshot
from notebooks_service.services.credits.ledger import Ledger, to_micro, verify
from notebooks_service.services.credits.metrics import CreditsMetrics
from notebooks_service.services.credits.models import Entry, RunningServer
from notebooks_service.services.credits.status import refresh_grants, wallet_statuses
from tests.credits.fakes import T0, FakeHub, balance, fund, server
from tests.credits.postgres import PostgresServer

PRICE = 3.6  # credits per hour: 1,000 micro-credits per second
SETTINGS = CreditsSection(
    enabled=True, posting_interval=60, grace_period=120, warning_thresholds=[900, 300],
    profiles={"small": Profile(price_per_hour=PRICE)},
    grants={"researchers": GroupGrant(amount=50, period_days=90)})


def charges_of(ledger: Ledger, zone: str, user: str) -> list[Entry]:
    with ledger.session() as s:
        return list(s.scalars(select(Entry).where(Entry.kind == "charge", Entry.zone == zone,
                                                  Entry.server == f"{user}/").order_by(Entry.time)))


def assert_tiles(charges: list[Entry], first: datetime, last: datetime) -> None:
    """The charges cover [first, last) end to end: each begins where the previous one ended."""
    assert charges, "nothing charged"
    begins = [c.time - timedelta(seconds=c.seconds) for c in charges]
    assert begins[0] == first
    for previous, current in pairwise(zip(charges, begins, strict=True)):
        assert current[1] == previous[0].time, (previous[0].key, current[0].key)
    assert charges[-1].time == last


async def test_two_zones_charge_one_wallet_continuously_and_once(postgres: PostgresServer) -> None:
    ledger = Ledger.open(postgres.create_database("credits_two_zones"))
    # alice runs a server in both zones, with the same name and start time: only the zone tells
    # them apart. bob runs one in eu-2 only, for part of the time.
    eu1 = FakeHub([server("alice")])
    eu2 = FakeHub([server("alice"), server("bob")])
    reports: dict[str, list[CycleReport]] = {"eu-1": [], "eu-2": []}

    async def both(now: datetime) -> None:
        """Both zones' cycles at the same moment, as their aligned clocks run them, each twice (a
        restarted service repeating its interval)."""
        for _ in range(2):
            done = await asyncio.gather(accounting_cycle(eu1, ledger, SETTINGS, now, zone="eu-1"),
                                        accounting_cycle(eu2, ledger, SETTINGS, now, zone="eu-2"))
            reports["eu-1"].append(done[0])
            reports["eu-2"].append(done[1])

    try:
        for minute in range(11):
            if minute == 6:
                eu2.servers = [server("alice")]  # bob stops
            await both(T0 + timedelta(minutes=minute, seconds=minute % 3))  # cycles start a bit late

        assert all(r.charges == 0 for zone in reports.values() for r in zone[1::2]), "a replay charged"
        end = T0 + timedelta(minutes=10, seconds=1)
        for zone in ("eu-1", "eu-2"):  # never restarted from "now" by the other zone's cycle
            assert_tiles(charges_of(ledger, zone, "alice"), T0, end)
        assert_tiles(charges_of(ledger, "eu-2", "bob"), T0, T0 + timedelta(minutes=5, seconds=2))
        assert charges_of(ledger, "eu-1", "bob") == []

        ready_seconds = 2 * (end - T0).total_seconds()  # alice in two zones
        with ledger.session() as s:
            alice = s.scalars(select(Entry).where(Entry.wallet == "user:alice")).all()
            keys = [e.key for e in alice if e.kind == "charge"]
            zones = {e.key: e.zone for e in alice}
            assert verify(s) == {}
            assert s.scalars(select(RunningServer.server).order_by(RunningServer.server)).all() == [
                "eu-1:alice/@2025-03-01T09:00:00Z", "eu-2:alice/@2025-03-01T09:00:00Z"]
            # what the status API and the JupyterLab status bar show: her spending in both zones
            (status,) = wallet_statuses(s, SETTINGS, "alice", ["user:alice"])
        assert status.spending == 2 * to_micro(PRICE)
        assert sorted((server["server"], server["zone"]) for server in status.as_json()["servers"]) == [
            ("alice/", "eu-1"), ("alice/", "eu-2")]
        charged = -sum(e.amount for e in alice if e.kind == "charge")
        assert charged == to_micro(PRICE * ready_seconds / 3600)
        assert len(keys) == len(set(keys)) == 20
        assert {key.split(":")[1] for key in keys} == {"eu-1", "eu-2"}
        assert all(zones[key] == key.split(":")[1] for key in keys)
        # One wallet: one grant per period whichever zone saw her first, zone-free; both zones pay.
        period = int(T0.timestamp() // (90 * 86400))
        grants = [(e.key, e.zone) for e in alice if e.kind == "grant"]
        assert grants == [(f"grant:researchers:user:alice:{period}", "")]
        assert balance(ledger, "user:alice") == to_micro(50) - charged
    finally:
        ledger.close()


async def test_runway_warnings_count_the_wallets_servers_in_every_zone(ledger: Ledger) -> None:
    fund(ledger, "user:carol", 1.2)  # 1,200 s at one server, 600 s at two
    carol = [server("carol", groups=())]
    await accounting_cycle(FakeHub(list(carol)), ledger, SETTINGS, T0, zone="eu-1")
    alone = await accounting_cycle(FakeHub(list(carol)), ledger, SETTINGS, T0, zone="eu-1")
    assert alone.warnings == {}
    await accounting_cycle(FakeHub(list(carol)), ledger, SETTINGS, T0, zone="eu-2")
    both = await accounting_cycle(FakeHub(list(carol)), ledger, SETTINGS, T0, zone="eu-1")
    assert both.warnings == {"user:carol": 900}


def test_a_grant_asked_for_by_many_at_once_is_posted_once(postgres: PostgresServer) -> None:
    """Zones' cycles and hubs admitting a start all post a new member's grant when they first see
    them; at the same moment, on PostgreSQL, they once collided on the new wallet or the grant key."""
    ledger = Ledger.open(postgres.create_database("credits_grant_race"))
    together = threading.Barrier(8)

    def refresh() -> None:
        together.wait()
        refresh_grants(ledger, SETTINGS, "erin", ["researchers"], T0)

    try:
        with ThreadPoolExecutor(8) as pool:
            for done in [pool.submit(refresh) for _ in range(8)]:
                done.result()
        with ledger.session() as s:
            assert [e.kind for e in s.scalars(select(Entry).where(Entry.wallet == "user:erin"))] == ["grant"]
            assert verify(s) == {}
        assert balance(ledger, "user:erin") == to_micro(50)
    finally:
        ledger.close()


def test_the_entries_api_the_csv_export_and_the_metrics_name_the_zone() -> None:
    charge = Entry(id=7, time=T0, wallet="user:alice", kind="charge", amount=-to_micro(0.06),
                   actor="credits", reason="", server="alice/", profile="small", seconds=60.0,
                   key="charge:eu-2:alice/@2025-03-01T09:00:00Z:24129780", expires_at=None, zone="eu-2")
    assert entry_json(charge)["zone"] == "eu-2"
    (row,) = csv.reader(io.StringIO(csv_chunk([charge])))
    assert dict(zip(CSV_COLUMNS, row, strict=True))["zone"] == "eu-2"
    assert CSV_COLUMNS[-1] == "zone", "columns read by position before zones keep their place"

    metrics = CreditsMetrics("eu-2")
    metrics.record(CycleReport(spent_by_profile={"small": to_micro(0.06)}, stopped=[("bob", "")]), 0.02)
    sample = metrics.registry.get_sample_value
    assert sample("credits_spent_total", {"zone": "eu-2", "profile": "small"}) == 0.06
    assert sample("credits_servers_stopped_total", {"zone": "eu-2"}) == 1
    assert sample("credits_cycle_duration_seconds_count", {"zone": "eu-2"}) == 1
    assert sample("credits_cycle_failures_total", {"zone": "eu-2"}) == 0  # present before any failure
    assert b'zone=""' in generate_latest(CreditsMetrics().registry)  # a hub that is not a zone


@pytest.mark.parametrize("zone", ["", "eu-1"])
def test_row_and_charge_keys(zone: str) -> None:
    """A hub that is not a zone keeps the keys it wrote before zones existed."""
    snapshot = ServerSnapshot(user="alice", name="gpu", started="2025-03-01T09:00:00Z", ready=True)
    expected = "alice/gpu@2025-03-01T09:00:00Z"
    assert session_key(zone, snapshot) == (f"{zone}:{expected}" if zone else expected)
