"""One accounting cycle: charge ready servers, expire and grant credits, warn, stop at zero after grace.

The work on the ledger happens in one database transaction, so a cycle killed at any point leaves
either all of its postings or none. Each charge covers `[charged_until, now)` of one server start and
is keyed by (server start, interval number): repeating a cycle within the same interval posts
nothing twice, and the next cycle charges whatever a lost one did not. Only servers the hub reports
`ready` are charged, from the first cycle that sees them ready: nothing while spawning, nothing for
a start that fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, select, update
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


TABLE = RunningServer.__table__
TRACKED = select(*(TABLE.c[f.name] for f in fields(Tracked)))
"""The rows in `Tracked`'s field order: positional construction is much cheaper than keywords."""


def _track(session: Session, settings: CreditsSection, servers: list[ServerSnapshot], now: datetime
           ) -> list[Tracked]:
    """Rows for exactly the ready servers: gone ones are dropped, new ones start being charged now."""
    seen = {s.key: s for s in servers}
    rows = {r.server: r for r in (Tracked(*row) for row in session.execute(TRACKED))}
    gone = [key for key in rows if key not in seen]
    for where in matching(session, TABLE.c.server, gone):
        session.execute(delete(TABLE).where(where))
    fresh = []
    for key, server in seen.items():
        choice = None if key in rows else _choice_for(settings, server)
        if choice is None:
            continue
        rows[key] = Tracked(
            server=key, user=server.user, server_name=server.name, wallet=choice.wallet,
            profile=choice.profile, price=price_micro(settings.profiles[choice.profile]),
            ready_since=now, charged_until=now)
        fresh.append(rows[key])
    insert_rows(session, TABLE, [dict(vars(row)) for row in fresh])
    return [rows[key] for key in seen if key in rows]


def _save(session: Session, rows: list[Tracked], column: str) -> None:
    """Write one column of `rows` back."""
    update_rows(session, TABLE, "server", column, [(r.server, getattr(r, column)) for r in rows])


def _charge(session: Session, rows: Iterable[Tracked], interval: int, seconds: int, now: datetime
            ) -> list[NewEntry]:
    """Charge each row up to now, unless it was charged in this interval already.

    `charged_until` only moves when the charge keyed by its interval is posted, in the same
    transaction, so a row charged before this interval has no charge with this interval's key.
    """
    pending: dict[str, tuple[Tracked, NewEntry]] = {}
    for row in rows:
        if int(row.charged_until.timestamp() // seconds) >= interval:
            continue
        key = f"charge:{row.server}:{interval}"
        pending[key] = (row, NewEntry(
            time=now, wallet=row.wallet, kind="charge",
            amount=-cost(row.price, row.ready_since, row.charged_until, now),
            actor="credits", server=f"{row.user}/{row.server_name}", profile=row.profile,
            seconds=(now - row.charged_until).total_seconds(), key=key))
    posted = post(session, [entry for _, entry in pending.values()], skip_posted=False)
    charged = [pending[entry.key][0] for entry in posted if entry.key]
    for row in charged:
        row.charged_until = now
    for where in matching(session, TABLE.c.server, [row.server for row in charged]):
        session.execute(update(TABLE).where(where).values(charged_until=now))
    return posted


def _enforce(session: Session, settings: CreditsSection, rows: list[Tracked], now: datetime,
             report: CycleReport) -> None:
    """Warnings from each wallet's runway; grace, then stop, for servers of wallets at zero."""
    current = balances(session, {r.wallet for r in rows})
    rates: dict[str, int] = {}
    for row in rows:
        rates[row.wallet] = rates.get(row.wallet, 0) + row.price
    for wallet, rate in rates.items():
        level = warning_level(runway_seconds(current[wallet], rate), settings.warning_thresholds)
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


def settle(ledger: Ledger, settings: CreditsSection, servers: list[ServerSnapshot], now: datetime
           ) -> CycleReport:
    """The cycle's database work, in one transaction."""
    report = CycleReport(running=len(servers))
    interval = int(now.timestamp() // settings.posting_interval)
    with ledger.session.begin() as session:
        report.expired = len(expire_due(session, now))
        report.granted = len(apply_grants(session, settings, ((s.user, s.groups) for s in servers), now))
        rows = _track(session, settings, servers, now)
        posted = _charge(session, rows, interval, settings.posting_interval, now)
        report.charges = len(posted)
        spent = report.spent_by_profile
        for entry in posted:
            spent[entry.profile] = spent.get(entry.profile, 0) - entry.amount
        _enforce(session, settings, rows, now, report)
    return report


async def accounting_cycle(hub: Hub, ledger: Ledger, settings: CreditsSection, now: datetime
                           ) -> CycleReport:
    """Read the hub, settle the ledger, then stop the servers whose grace has run out."""
    servers = [s for s in await hub.active_servers() if s.ready]
    report = await asyncio.to_thread(settle, ledger, settings, servers, now)

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
