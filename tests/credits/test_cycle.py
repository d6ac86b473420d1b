"""The accounting cycle against a fake hub, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from notebooks_service.services.credits.config import CreditsSection, GroupGrant, Profile
from notebooks_service.services.credits.cycle import accounting_cycle, cost
from notebooks_service.services.credits.ledger import Ledger, to_micro, verify
from notebooks_service.services.credits.models import Entry
from tests.credits.fakes import T0, FakeHub, balance, fund, server

SETTINGS = CreditsSection(
    enabled=True, posting_interval=60, grace_period=120, warning_thresholds=[900, 300],
    profiles={"small": Profile(price_per_hour=3.6), "big": Profile(price_per_hour=36, groups=["gpu"])},
    grants={"proj": GroupGrant(amount=10, wallet="project")}, unlimited_users=["admin"])


def test_cost_rounds_cumulatively() -> None:
    price = to_micro(1)  # 277.78 micro-credits per second
    second = timedelta(seconds=1)
    parts = sum(cost(price, T0, T0 + i * second, T0 + (i + 1) * second) for i in range(3600))
    assert parts == price


async def test_charges_ready_time_once_per_interval(ledger: Ledger) -> None:
    fund(ledger, "user:alice", 100)
    hub = FakeHub([server("alice"), server("bob", ready=False)])
    first = await accounting_cycle(hub, ledger, SETTINGS, T0)
    assert (first.running, first.charges) == (1, 0)  # starts counting when first seen ready
    later = T0 + timedelta(seconds=90)
    report = await accounting_cycle(hub, ledger, SETTINGS, later)
    repeat = await accounting_cycle(hub, ledger, SETTINGS, later)  # e.g. a restart within the interval
    assert report.charges == 1 and repeat.charges == 0
    assert report.spent_by_profile == {"small": to_micro(0.09)}  # 90 s at 3.6 per hour
    assert balance(ledger, "user:alice") == to_micro(100 - 0.09)
    assert balance(ledger, "user:bob") == 0  # never ready, never charged
    assert (await accounting_cycle(hub, ledger, SETTINGS, later + timedelta(seconds=30))).charges == 1
    # 09:02:30 is in the interval charged at 09:02:00: its 30 s wait for the next interval
    assert (await accounting_cycle(hub, ledger, SETTINGS, later + timedelta(seconds=60))).charges == 0
    assert (await accounting_cycle(hub, ledger, SETTINGS, later + timedelta(seconds=90))).charges == 1
    with ledger.session() as s:
        seconds = sum(e.seconds for e in s.query(Entry).filter_by(kind="charge"))
        assert verify(s) == {}
    assert seconds == 180  # all ready time from first sight to the last cycle, nothing twice


async def test_warns_then_stops_after_grace_and_spares_unlimited(ledger: Ledger) -> None:
    fund(ledger, "user:alice", 0.5)  # 500 s at 3.6/h
    hub = FakeHub([server("alice"), server("admin", groups=("admins",))])
    await accounting_cycle(hub, ledger, SETTINGS, T0)
    warned = await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=240))
    assert warned.warnings == {"user:alice": 300, "user:admin": 300}
    at_zero = await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=540))
    assert at_zero.to_stop == []  # grace starts
    in_grace = await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=600))
    assert in_grace.to_stop == []
    over = await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=660))
    assert over.stopped == [("alice", "")]
    assert hub.stopped == [("alice", "")]
    assert balance(ledger, "user:alice") == to_micro(0.5 - 3.6 * 660 / 3600)  # grace time is charged


async def test_project_wallet_shared_by_two_members(ledger: Ledger) -> None:
    hub = FakeHub([server("alice", groups=("researchers", "proj"), wallet="group:proj"),
                   server("bob", groups=("proj",), wallet="group:proj")])
    await accounting_cycle(hub, ledger, SETTINGS, T0)
    await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=600))
    assert balance(ledger, "group:proj") == to_micro(10 - 2 * 3.6 * 600 / 3600)
    assert balance(ledger, "user:alice") == balance(ledger, "user:bob") == 0


async def test_unusable_choice_falls_back_to_default_profile(ledger: Ledger) -> None:
    hub = FakeHub([server("carol", profile="big", wallet="group:elsewhere")])
    await accounting_cycle(hub, ledger, SETTINGS, T0)
    await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=60))
    with ledger.session() as s:
        (entry,) = s.query(Entry).filter_by(kind="charge").all()
    assert (entry.wallet, entry.profile) == ("user:carol", "small")
