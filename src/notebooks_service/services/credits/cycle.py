"""One accounting cycle of one zone: charge ready servers, expire and grant credits, warn, stop at zero
after grace.

The work on the ledger happens in one database transaction, so a cycle killed at any point leaves
either all of its postings or none. Each charge covers `[charged_until, now)` of one server start and
is keyed by (zone, server start, interval number): repeating a cycle within the same interval posts
nothing twice, and the next cycle charges whatever a lost one did not. Only servers the hub reports
`ready` are charged, from the first cycle that sees them ready: nothing while spawning, nothing for
a start that fails.

Several hubs (zones) may share one ledger. A zone's cycle reads, charges, stops for and removes only
the `running_servers` rows of its own zone; wallets, their balances and the runway behind warnings
are shared by all zones. The cycles of all zones take turns on the ledger (`ledger.take_turn`), so
two zones moving the same wallets or posting the same period's grant never deadlock or collide on a
key; a cycle lasts well under a second even with thousands of servers.

When the ledger cannot be reached, a cycle fails before it stops anything, and `charged_until`
stays where the last posted charge left it: the first cycle after the outage charges the whole
outage once. What the hub showed meanwhile is kept in `Sightings`, so that servers that started
or stopped during the outage are charged for it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from notebooks_service.services.credits.bulk import insert_rows, matching, update_rows
from notebooks_service.services.credits.choices import (
    Choice,
    ChoiceError,
    candidate_wallets,
    choose,
    price_micro,
    runway_seconds,
    warning_level,
)
from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.expiry import expire_due
from notebooks_service.services.credits.grants import apply_grants
from notebooks_service.services.credits.hub import ServerSnapshot
from notebooks_service.services.credits.ledger import (
    Ledger,
    NewEntry,
    balances,
    personal_wallet,
    post,
    take_turn,
)
from notebooks_service.services.credits.models import RunningServer

log = logging.getLogger(__name__)


class Hub(Protocol):
    async def active_servers(self) -> list[ServerSnapshot]: ...

    async def stop_server(self, user: str, name: str) -> None: ...


@dataclass
class CycleReport:
    """What one cycle did, for logs, metrics and tests."""

    running: int = 0
    charges: int = 0
    spent_by_profile: dict[str, int] = field(default_factory=dict)
    granted: int = 0
    expired: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    """Wallet -> the warning threshold (seconds) its runway has reached."""
    to_stop: list[tuple[str, str]] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)


def cost(price: int, ready_since: datetime, start: datetime, end: datetime) -> int:
    """Micro-credits for `[start, end)`, rounded cumulatively from `ready_since` so no rounding drifts."""
    def upto(t: datetime) -> int:
        return round(price * (t - ready_since).total_seconds() / 3600)
    return upto(end) - upto(start)


def interval_of(t: datetime, seconds: int) -> int:
    """The posting interval `t` falls in, counted from the Unix epoch, so every zone agrees."""
    return int(t.timestamp() // seconds)


def session_key(zone: str, server: ServerSnapshot) -> str:
    """The `running_servers` key of one start of a server in `zone`. A hub that is not a zone keeps
    the bare key, so a ledger written before zones existed goes on charging the same rows."""
    return f"{zone}:{server.key}" if zone else server.key


@dataclass
class Sighting:
    """A server failed cycles saw ready: as the hub last described it, and when."""

    server: ServerSnapshot
    first: datetime
    last: datetime


@dataclass
class Sightings:
    """The ready servers that cycles saw while their ledger work failed, until a cycle settles.

    The hub still answers during a ledger outage. Without this memory, the first cycle after it would
    only know the servers running then: one started during the outage would be charged from that
    cycle on, and one stopped during it would lose its time since the last posted charge. A service
    restarted during an outage starts with an empty memory and has exactly that gap.
    """

    seen: dict[str, Sighting] = field(default_factory=dict)
    """Session key (`session_key`) -> when it was first and last seen ready."""

    def record(self, zone: str, servers: Iterable[ServerSnapshot], now: datetime) -> None:
        for server in servers:
            key = session_key(zone, server)
            if key in self.seen:
                self.seen[key].last = now
            else:
                self.seen[key] = Sighting(server, now, now)


def _choice_for(settings: CreditsSection, server: ServerSnapshot) -> Choice | None:
    """The server's profile and wallet; if they became invalid (config changed), the defaults."""
    wallets = candidate_wallets(settings, server.user, server.groups, [server.user_options.get("wallet", "")])
    try:
        return choose(settings, server.user, server.groups, server.user_options, wallets)
    except ChoiceError as e:
        log.warning("server %s: %s; charging its default profile to the personal wallet", server.label, e)
    try:
        return choose(settings, server.user, server.groups, {}, [personal_wallet(server.user)])
    except ChoiceError as e:
        log.error("server %s is not charged: %s", server.label, e)
        return None


@dataclass
class Tracked:
    """A `running_servers` row as plain data: the cycle handles thousands, the ORM would be slow."""

    server: str
    user: str
    server_name: str
    wallet: str
    profile: str
    price: int
    ready_since: datetime
    charged_until: datetime
    empty_since: datetime | None = None
    zone: str = ""


TABLE = RunningServer.__table__
TRACKED = select(*(TABLE.c[f.name] for f in fields(Tracked)))
"""The rows in `Tracked`'s field order: positional construction is much cheaper than keywords."""


def _track(session: Session, settings: CreditsSection, seen: dict[str, ServerSnapshot], now: datetime,
           zone: str, sighted: dict[str, Sighting]) -> tuple[list[Tracked], list[Tracked]]:
    """Rows for exactly the zone's ready servers, and the zone's rows of servers now gone (deleted).

    New servers are charged from now, or from when a failed cycle first saw them."""
    found = session.execute(TRACKED.where(TABLE.c.zone == zone))
    rows = {r.server: r for r in (Tracked(*row) for row in found)}
    gone = [row for key, row in rows.items() if key not in seen]
    for where in matching(session, TABLE.c.server, [row.server for row in gone]):
        session.execute(delete(TABLE).where(where))
    fresh = []
    for key, server in seen.items():
        choice = None if key in rows else _choice_for(settings, server)
        if choice is None:
            continue
        since = sighted[key].first if key in sighted else now
        rows[key] = Tracked(
            server=key, user=server.user, server_name=server.name, wallet=choice.wallet,
            profile=choice.profile, price=price_micro(settings.profiles[choice.profile]),
            ready_since=since, charged_until=since, zone=zone)
        fresh.append(rows[key])
    insert_rows(session, TABLE, [dict(vars(row)) for row in fresh])
    return [rows[key] for key in seen if key in rows], gone


def _save(session: Session, rows: list[Tracked], column: str) -> None:
    """Write one column of `rows` back."""
    update_rows(session, TABLE, "server", column, [(r.server, getattr(r, column)) for r in rows])


def _charge_entry(row: Tracked, until: datetime, interval: int) -> NewEntry:
    """The charge for `row`'s ready time from `charged_until` to `until`, keyed by `interval`."""
    return NewEntry(
        time=until, wallet=row.wallet, kind="charge",
        amount=-cost(row.price, row.ready_since, row.charged_until, until),
        actor="credits", server=f"{row.user}/{row.server_name}", profile=row.profile,
        seconds=(until - row.charged_until).total_seconds(), key=f"charge:{row.server}:{interval}",
        zone=row.zone)


def _charge(session: Session, rows: Iterable[Tracked], interval: int, seconds: int, now: datetime
            ) -> list[NewEntry]:
    """Charge each row up to now, unless it was charged in this interval already.

    `charged_until` only moves when the charge keyed by its interval is posted, in the same
    transaction, so a row charged before this interval has no charge with this interval's key.
    """
    pending: dict[str, tuple[Tracked, NewEntry]] = {}
    for row in rows:
        if interval_of(row.charged_until, seconds) >= interval:
            continue
        entry = _charge_entry(row, now, interval)
        pending[entry.key or ""] = (row, entry)
    posted = post(session, [entry for _, entry in pending.values()], skip_posted=False)
    charged = [pending[entry.key][0] for entry in posted if entry.key]
    for row in charged:
        row.charged_until = now
    for where in matching(session, TABLE.c.server, [row.server for row in charged]):
        session.execute(update(TABLE).where(where).values(charged_until=now))
    return posted


def _catch_up(session: Session, settings: CreditsSection, gone: list[Tracked], known: set[str],
              sighted: dict[str, Sighting], zone: str) -> list[NewEntry]:
    """Charges for the servers that failed cycles saw and that are gone now: a tracked one from its
    `charged_until` to its last sighting, one both started and stopped during the outage from its
    first sighting to its last. Keyed by the last sighting's interval, in which no cycle posted."""
    seconds = settings.posting_interval
    entries = []
    for row in gone:
        sighting = sighted.get(row.server)
        if sighting and interval_of(row.charged_until, seconds) < interval_of(sighting.last, seconds):
            entries.append(_charge_entry(row, sighting.last, interval_of(sighting.last, seconds)))
    for key, sighting in sighted.items():
        if key in known or interval_of(sighting.first, seconds) >= interval_of(sighting.last, seconds):
            continue
        server = sighting.server
        choice = _choice_for(settings, server)
        if choice is None:
            continue
        row = Tracked(server=key, user=server.user, server_name=server.name, wallet=choice.wallet,
                      profile=choice.profile, price=price_micro(settings.profiles[choice.profile]),
                      ready_since=sighting.first, charged_until=sighting.first, zone=zone)
        entries.append(_charge_entry(row, sighting.last, interval_of(sighting.last, seconds)))
    return post(session, entries)


def _spending_elsewhere(session: Session, zone: str) -> dict[str, int]:
    """Micro-credits per hour each wallet pays for servers of the other zones sharing the ledger."""
    query = (select(TABLE.c.wallet, func.sum(TABLE.c.price)).where(TABLE.c.zone != zone)
             .group_by(TABLE.c.wallet))
    return {wallet: int(rate) for wallet, rate in session.execute(query)}


def _enforce(session: Session, settings: CreditsSection, rows: list[Tracked], now: datetime,
             zone: str, report: CycleReport) -> None:
    """Warnings from each wallet's runway at its spending in all zones; grace, then stop, for this
    zone's servers of wallets at zero."""
    current = balances(session, {r.wallet for r in rows})
    rates: dict[str, int] = {}
    for row in rows:
        rates[row.wallet] = rates.get(row.wallet, 0) + row.price
    elsewhere = _spending_elsewhere(session, zone)
    for wallet, rate in rates.items():
        level = warning_level(runway_seconds(current[wallet], rate + elsewhere.get(wallet, 0)),
                              settings.warning_thresholds)
        if level is not None:
            report.warnings[wallet] = level
    changed = []
    for row in rows:
        paid = row.user in settings.unlimited_users or current[row.wallet] > 0
        empty_since = None if paid else (row.empty_since or now)
        if empty_since != row.empty_since:
            row.empty_since = empty_since
            changed.append(row)
        if empty_since and (now - empty_since).total_seconds() >= settings.grace_period:
            report.to_stop.append((row.user, row.server_name))
    _save(session, changed, "empty_since")


def settle(ledger: Ledger, settings: CreditsSection, servers: list[ServerSnapshot], now: datetime, *,
           zone: str = "", sightings: Sightings | None = None) -> CycleReport:
    """The cycle's database work for `zone`'s ready `servers`, in one transaction; once it has
    committed, what failed cycles saw (`sightings`) is charged and forgotten."""
    report = CycleReport(running=len(servers))
    interval = interval_of(now, settings.posting_interval)
    seen = {session_key(zone, s): s for s in servers}
    sighted = dict(sightings.seen) if sightings is not None else {}
    with ledger.session.begin() as session:
        take_turn(session)
        report.expired = len(expire_due(session, now))
        report.granted = len(apply_grants(session, settings, ((s.user, s.groups) for s in servers), now))
        rows, gone = _track(session, settings, seen, now, zone, sighted)
        posted = _charge(session, rows, interval, settings.posting_interval, now)
        known = set(seen) | {row.server for row in gone}
        posted += _catch_up(session, settings, gone, known, sighted, zone)
        report.charges = len(posted)
        spent = report.spent_by_profile
        for entry in posted:
            spent[entry.profile] = spent.get(entry.profile, 0) - entry.amount
        _enforce(session, settings, rows, now, zone, report)
    if sightings is not None:
        sightings.seen.clear()
    return report


async def accounting_cycle(hub: Hub, ledger: Ledger, settings: CreditsSection, now: datetime, *,
                           zone: str = "", sightings: Sightings | None = None) -> CycleReport:
    """Read the hub, settle the ledger, then stop the servers whose grace has run out.

    When settling fails (the ledger is down), nothing is stopped and the ready servers are added to
    `sightings` for the cycle that settles next."""
    servers = [s for s in await hub.active_servers() if s.ready]
    try:
        report = await asyncio.to_thread(settle, ledger, settings, servers, now, zone=zone,
                                         sightings=sightings)
    except Exception:
        if sightings is not None:
            sightings.record(zone, servers, now)
        raise

    async def stop(user: str, name: str) -> None:
        try:
            await hub.stop_server(user, name)
        except Exception:  # one failing stop must not keep the others running
            log.exception("could not stop %s/%s", user, name)
            return
        log.info("stopped %s/%s: its wallet is empty and the grace period is over", user, name)
        report.stopped.append((user, name))

    await asyncio.gather(*(stop(user, name) for user, name in report.to_stop))
    return report
