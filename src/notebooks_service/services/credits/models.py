"""The ledger's tables. Entries are append-only; `wallets.balance` is their sum, kept in step.

Amounts are integer micro-credits so that sums are exact on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MICRO = 1_000_000
"""Micro-credits per credit."""

ZONE_LENGTH = 63
"""Room for any DNS label, the longest a zone name could become (`zones.config.ZoneName` allows 32)."""

Id = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite only auto-increments INTEGER primary keys."""


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Wallet(Base):
    """A personal (`user:<name>`) or project (`group:<name>`) wallet."""

    __tablename__ = "wallets"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    """Sum of the wallet's entries (micro-credits); see `Ledger.verify`."""
    created: Mapped[datetime] = mapped_column(UtcDateTime)


class Entry(Base):
    """One ledger entry: positive amounts add credits (grant, refund), negative ones take them."""

    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_wallet_time", "wallet", "time"),
        Index("ix_entries_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    wallet: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    server: Mapped[str] = mapped_column(String(300), default="")
    profile: Mapped[str] = mapped_column(String(100), default="")
    seconds: Mapped[float] = mapped_column(default=0.0)
    """Ready server time a charge covers."""
    key: Mapped[str | None] = mapped_column(String(400), unique=True, default=None)
    """Idempotency key: an entry with the same key is never posted twice."""
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """For grants: when what is left of this grant expires."""
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True, default=None)
    """For expiries: the grant that expired."""
    zone: Mapped[str] = mapped_column(String(ZONE_LENGTH), default="", server_default="")
    """The zone whose server a charge pays for, or whose service took an admin's entry; empty for
    wallet-wide entries (periodic grants, expiries) and on a hub that is not a zone."""


class RunningServer(Base):
    """A server the accounting cycle is charging: how far it has been charged and its grace state."""

    __tablename__ = "running_servers"

    server: Mapped[str] = mapped_column(String(400), primary_key=True)
    """`[<zone>:]<user>/<server name>@<started>`: one row per start, so restarts are never confused,
    and per zone, so that zones sharing the ledger never take each other's rows."""
    zone: Mapped[str] = mapped_column(String(ZONE_LENGTH), default="", server_default="", index=True)
    """The zone whose accounting cycle charges this server; only that cycle reads or removes the row."""
    user: Mapped[str] = mapped_column(String(200), index=True)
    server_name: Mapped[str] = mapped_column(String(200), default="")
    wallet: Mapped[str] = mapped_column(String(300), index=True)
    profile: Mapped[str] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(BigInteger)
    """Micro-credits per hour, fixed at first sight so a config change does not reprice a session."""
    ready_since: Mapped[datetime] = mapped_column(UtcDateTime)
    charged_until: Mapped[datetime] = mapped_column(UtcDateTime)
    empty_since: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """When the paying wallet was first seen at or below zero; the grace period counts from here."""
