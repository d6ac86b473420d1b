"""Posting to and reading from the ledger. Every write goes through `post`, which keeps balances in step.

Entries are never updated or deleted. Keyed entries are idempotent: a key already in the ledger is
skipped, so a retried accounting cycle or a restarted service never posts twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from notebooks_service.services.credits.bulk import insert_rows, matching, update_rows
from notebooks_service.services.credits.db import open_engine, upgrade
from notebooks_service.services.credits.models import MICRO, Entry, Wallet

KIND_SIGNS = {"grant": 1, "refund": 1, "adjustment": 0, "charge": -1, "expiry": -1}
"""Entry kinds and the sign their amounts must have (0: either)."""

UNREACHABLE = (OperationalError, InterfaceError)
"""What the database driver raises when the ledger cannot be reached (server down, connection cut,
SQLite locked past its timeout): callers that can wait for it say so instead of failing with a 500."""


SHARED_WRITES_LOCK = int.from_bytes(b"credits")
"""The PostgreSQL advisory lock of `take_turn` (any fixed number would do; this one spells "credits")."""


def take_turn(session: Session) -> None:
    """Wait until no other transaction posts to shared wallets, and hold the turn until this one ends.

    Zones sharing a ledger run their cycles at the same interval boundaries, and hubs post a new
    member's grant when they first see them: without turns, two of them create the same wallet or
    grant at once (one fails on the unique key) or move the same wallets in different orders (one
    dies in a deadlock). PostgreSQL gets an advisory lock; SQLite already lets one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SHARED_WRITES_LOCK)))


def personal_wallet(user: str) -> str:
    return f"user:{user}"


def project_wallet(group: str) -> str:
    return f"group:{group}"


def to_micro(credits: float) -> int:
    return round(credits * MICRO)


def to_credits(micro: int) -> float:
    return micro / MICRO


@dataclass(frozen=True)
class NewEntry:
    """An entry about to be posted (see `models.Entry` for the fields)."""

    time: datetime
    wallet: str
    kind: str
    amount: int
    actor: str = ""
    reason: str = ""
    server: str = ""
    profile: str = ""
    seconds: float = 0.0
    key: str | None = None
    expires_at: datetime | None = None
    lot_id: int | None = None
    zone: str = ""


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    found: set[str] = set()
    for where in matching(session, Entry.key, wanted):
        found.update(session.scalars(select(Entry.key).where(where)))
    return found


def ensure_wallets(session: Session, wallet_ids: Iterable[str], now: datetime) -> None:
    wanted = sorted(set(wallet_ids))
    present = existing_wallets(session, wanted)
    missing = [w for w in wanted if w not in present]
    if missing:
        session.add_all(Wallet(id=w, balance=0, created=now) for w in missing)
        session.flush()


def post(session: Session, entries: Sequence[NewEntry], skip_posted: bool = True) -> list[NewEntry]:
    """Append `entries` (skipping keys already posted) and move balances; returns what was posted.

    The caller commits: entries and balances change in one transaction or not at all. A caller that
    knows its keys are new may pass `skip_posted=False` to spare the lookup; the unique constraint
    on keys still refuses a duplicate (the whole transaction then fails).
    """
    keys = existing_keys(session, [e.key for e in entries if e.key]) if skip_posted else set()
    fresh: list[NewEntry] = []
    for entry in entries:
        if entry.key is not None and entry.key in keys:
            continue
        if entry.key is not None:
            keys.add(entry.key)
        fresh.append(entry)
    if not fresh:
        return []
    ensure_wallets(session, [e.wallet for e in fresh], fresh[0].time)
    insert_rows(session, Entry.__table__, [dict(vars(e)) for e in fresh])  # asdict() deep-copies
    deltas: dict[str, int] = {}
    for entry in fresh:
        deltas[entry.wallet] = deltas.get(entry.wallet, 0) + entry.amount
    update_rows(session, Wallet.__table__, "id", "balance", list(deltas.items()), increment=True)
    return fresh


def balances(session: Session, wallet_ids: Iterable[str]) -> dict[str, int]:
    """Balances (micro-credits) of the given wallets; wallets never posted to hold 0."""
    wanted = sorted(set(wallet_ids))
    result = dict.fromkeys(wanted, 0)
    for where in matching(session, Wallet.id, wanted):
        result.update(session.execute(select(Wallet.id, Wallet.balance).where(where)).all())
    return result


def existing_wallets(session: Session, wallet_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for where in matching(session, Wallet.id, sorted(set(wallet_ids))):
        found.update(session.scalars(select(Wallet.id).where(where)))
    return found


def history(session: Session, wallet_ids: Sequence[str], limit: int, offset: int = 0
            ) -> tuple[list[Entry], int]:
    """One page of the wallets' entries, newest first, and how many there are in all."""
    where = Entry.wallet.in_(wallet_ids)
    total = session.scalar(select(func.count()).select_from(Entry).where(where)) or 0
    page = session.scalars(select(Entry).where(where).order_by(Entry.time.desc(), Entry.id.desc())
                           .limit(limit).offset(offset))
    return list(page), total


def entries_after(session: Session, wallet_ids: Sequence[str], after: tuple[datetime, int] | None,
                  limit: int) -> list[Entry]:
    """Up to `limit` entries of the wallets, oldest first, that come after `(time, id)`.

    Keyset pages rather than OFFSET or one long cursor: each page is a short query served by the
    (wallet, time) index, and no connection or transaction stays open while a client downloads.
    """
    query = select(Entry).where(Entry.wallet.in_(wallet_ids))
    if after is not None:
        time, last = after
        query = query.where(or_(Entry.time > time, and_(Entry.time == time, Entry.id > last)))
    return list(session.scalars(query.order_by(Entry.time, Entry.id).limit(limit)))


def usage_per_day(session: Session, wallet_ids: Sequence[str], since: datetime
                  ) -> list[tuple[str, str, int]]:
    """(day, profile, micro-credits charged) for charges since `since`, oldest day first."""
    day = func.date(Entry.time)
    rows = session.execute(
        select(day, Entry.profile, func.sum(-Entry.amount))
        .where(Entry.wallet.in_(wallet_ids), Entry.kind == "charge", Entry.time >= since)
        .group_by(day, Entry.profile).order_by(day, Entry.profile)
    ).all()
    return [(str(d), profile, int(total)) for d, profile, total in rows]


def verify(session: Session) -> dict[str, tuple[int, int]]:
    """Wallets whose stored balance differs from the sum of their entries: {wallet: (stored, sum)}."""
    sums = dict(session.execute(select(Entry.wallet, func.sum(Entry.amount)).group_by(Entry.wallet)).all())
    stored = dict(session.execute(select(Wallet.id, Wallet.balance)).all())
    return {w: (stored.get(w, 0), int(sums.get(w, 0) or 0))
            for w in set(sums) | set(stored) if stored.get(w, 0) != int(sums.get(w, 0) or 0)}


class Ledger:
    """The ledger database: an engine with its schema migrated, and sessions on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Ledger:
        engine = open_engine(url)
        upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()
