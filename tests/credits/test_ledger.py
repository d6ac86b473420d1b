"""The ledger on SQLite and PostgreSQL: balances equal sums, keys are idempotent, expiry is FIFO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from notebooks_service.services.credits.config import CreditsSection, GroupGrant
from notebooks_service.services.credits.expiry import expire_due
from notebooks_service.services.credits.grants import apply_grants
from notebooks_service.services.credits.ledger import (
    Ledger,
    NewEntry,
    balances,
    entries_after,
    history,
    post,
    to_micro,
    usage_per_day,
    verify,
)
from tests.credits.postgres import PostgresServer

T0 = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def grant(wallet: str, credits: float, at: datetime, lifetime_days: float = 10) -> NewEntry:
    return NewEntry(time=at, wallet=wallet, kind="grant", amount=to_micro(credits), actor="admin",
                    reason="test", expires_at=at + timedelta(days=lifetime_days))


def charge(wallet: str, credits: float, at: datetime, key: str | None = None) -> NewEntry:
    return NewEntry(time=at, wallet=wallet, kind="charge", amount=-to_micro(credits), server="alice/",
                    profile="small", seconds=60, key=key)


def test_balances_are_sums_and_survive_reopen(ledger: Ledger, ledger_url: str) -> None:
    with ledger.session.begin() as s:
        post(s, [grant("user:alice", 100, T0), charge("user:alice", 12.5, T0), grant("group:p", 7, T0)])
    with ledger.session() as s:
        assert balances(s, ["user:alice", "group:p", "user:nobody"]) == {
            "user:alice": to_micro(87.5), "group:p": to_micro(7), "user:nobody": 0}
        assert verify(s) == {}
    reopened = Ledger.open(ledger_url)  # migrations are idempotent
    with reopened.session() as s:
        assert balances(s, ["user:alice"])["user:alice"] == to_micro(87.5)
    reopened.close()


def test_verify_detects_a_tampered_balance(ledger: Ledger) -> None:
    with ledger.session.begin() as s:
        post(s, [grant("user:bob", 5, T0)])
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE wallets SET balance = balance + 1")
    with ledger.session() as s:
        assert verify(s) == {"user:bob": (to_micro(5) + 1, to_micro(5))}


def test_keyed_entries_post_once(ledger: Ledger) -> None:
    with ledger.session.begin() as s:
        first = post(s, [grant("user:alice", 10, T0), charge("user:alice", 1, T0, key="k1"),
                         charge("user:alice", 1, T0, key="k1")])
    with ledger.session.begin() as s:
        again = post(s, [charge("user:alice", 1, T0, key="k1")])
    assert (len(first), len(again)) == (2, 0)
    with ledger.session() as s:
        assert balances(s, ["user:alice"])["user:alice"] == to_micro(9)


def expiries(ledger: Ledger, now: datetime) -> list[int]:
    with ledger.session.begin() as s:
        return [e.amount for e in expire_due(s, now)]


def test_expiry_takes_the_oldest_grant_first(ledger: Ledger) -> None:
    w = "user:alice"
    with ledger.session.begin() as s:
        post(s, [grant(w, 100, T0), grant(w, 100, T0 + timedelta(days=2)),
                 charge(w, 150, T0 + timedelta(days=3))])
    # The first grant was spent entirely: nothing of it expires.
    assert expiries(ledger, T0 + timedelta(days=10)) == [0]
    # The second lost 50 to the charge; its other 50 expire.
    assert expiries(ledger, T0 + timedelta(days=12)) == [-to_micro(50)]
    assert expiries(ledger, T0 + timedelta(days=30)) == []  # each grant expires once
    with ledger.session() as s:
        assert balances(s, [w])[w] == 0
        assert verify(s) == {}


def test_expiry_of_a_partly_spent_old_grant(ledger: Ledger) -> None:
    w = "group:proj"
    with ledger.session.begin() as s:
        post(s, [grant(w, 100, T0), grant(w, 100, T0 + timedelta(days=2)),
                 charge(w, 30, T0 + timedelta(days=3)),
                 charge(w, 5, T0 + timedelta(days=11))])  # after the first expiry: not from it
    assert expiries(ledger, T0 + timedelta(days=10, hours=1)) == [-to_micro(70)]
    with ledger.session() as s:
        assert balances(s, [w])[w] == to_micro(95)
        entries, total = history(s, [w], limit=10)
    assert total == 5
    assert entries[0].kind == "charge"  # newest first
    assert [e.kind for e in entries if e.lot_id is not None] == ["expiry"]


def test_grants_once_per_period_and_capped(ledger: Ledger) -> None:
    settings = CreditsSection(grants={
        "researchers": GroupGrant(amount=100, period_days=90, cap=150),
        "proj": GroupGrant(amount=40, period_days=30, wallet="project"),
    })
    members = [("alice", ["researchers", "proj"]), ("bob", ["proj"])]
    with ledger.session.begin() as s:
        first = apply_grants(s, settings, members, T0)
    with ledger.session.begin() as s:
        again = apply_grants(s, settings, members, T0 + timedelta(hours=1))
    assert sorted((e.wallet, e.amount) for e in first) == [
        ("group:proj", to_micro(40)), ("user:alice", to_micro(100))]
    assert again == []
    later = T0 + timedelta(days=91)
    with ledger.session.begin() as s:
        next_period = {e.wallet: e.amount for e in apply_grants(s, settings, members, later)}
    assert next_period["user:alice"] == to_micro(50)  # capped at 150
    with ledger.session() as s:
        assert balances(s, ["user:alice"])["user:alice"] == to_micro(150)


def test_history_pages_and_usage_per_day(ledger: Ledger) -> None:
    w = "user:carol"
    with ledger.session.begin() as s:
        post(s, [grant(w, 50, T0)] + [charge(w, 1, T0 + timedelta(hours=h)) for h in range(30)])
    with ledger.session() as s:
        page1, total = history(s, [w], limit=20)
        page2, _ = history(s, [w], limit=20, offset=20)
        usage = usage_per_day(s, [w], T0 - timedelta(days=1))
    assert total == 31 and len(page1) == 20 and len(page2) == 11
    assert {e.id for e in page1}.isdisjoint(e.id for e in page2)
    assert usage == [("2025-01-10", "small", to_micro(12)), ("2025-01-11", "small", to_micro(18))]


def test_postgresql_plans_each_statement_for_its_parameters(postgres: PostgresServer) -> None:
    """Generic plans turn the cycle's `IN (...)` lookups into linear searches (see `db.open_engine`)."""
    ledger = Ledger.open(postgres.create_database("credits_plans"))
    with ledger.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
    ledger.close()


def test_an_over_long_key_is_refused_on_postgresql_never_truncated(postgres: PostgresServer) -> None:
    """Set-based inserts send strings as text[], so PostgreSQL's column limit raises instead of
    cutting the value (a cut key would be posted again every cycle)."""
    ledger = Ledger.open(postgres.create_database("credits_long_values"))
    try:
        with pytest.raises(DBAPIError, match="too long"), ledger.session.begin() as s:
            post(s, [charge("user:bob", 1, T0, key="k" * 500), grant("user:bob", 1, T0)])
        with ledger.session() as s:
            assert balances(s, ["user:bob"]) == {"user:bob": 0}, "nothing of the batch was kept"
    finally:
        ledger.close()


def test_export_pages_walk_every_entry_once_oldest_first_across_equal_times(ledger: Ledger) -> None:
    """A cycle posts all its charges at one time: pages of the CSV export break ties by id."""
    times = [T0] * 5 + [T0 + timedelta(seconds=1)] * 4 + [T0 + timedelta(microseconds=1_000_001)]
    with ledger.session.begin() as s:
        post(s, [charge("user:alice", 0.5, at) for at in times] + [charge("user:bob", 1, T0)])
    seen: list[tuple[datetime, int]] = []
    after = None
    with ledger.session() as s:
        while page := entries_after(s, ["user:alice"], after, 3):
            assert len(page) <= 3
            seen.extend((e.time, e.id) for e in page)
            after = seen[-1]
    assert seen == sorted(seen) and len(set(seen)) == len(times)
