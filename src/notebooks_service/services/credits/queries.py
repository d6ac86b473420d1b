"""The ledger work of each credits request, as plain functions the handlers run in the thread pool.

The ledger is synchronous SQLAlchemy (the accounting cycle and `bulk`'s set-based statements use it
too), so handlers never call it on the event loop: a slow or locked database would stall every
request, metrics scrapes and the accounting loop with it. Each function opens and closes its own
session, so nothing crosses threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.ledger import (
    Ledger,
    NewEntry,
    entries_after,
    history,
    post,
    usage_per_day,
)
from notebooks_service.services.credits.models import Entry
from notebooks_service.services.credits.status import (
    WalletStatus,
    refresh_grants,
    user_wallets,
    wallet_statuses,
)


def caller_wallets(ledger: Ledger, settings: CreditsSection, user: str, groups: Sequence[str],
                   now: datetime) -> list[str]:
    """The user's wallets, after posting their grants due now (a new member sees them at once)."""
    refresh_grants(ledger, settings, user, groups, now)
    with ledger.session() as session:
        return user_wallets(session, settings, user, groups)


def statuses(ledger: Ledger, settings: CreditsSection, user: str, wallets: list[str]) -> list[WalletStatus]:
    with ledger.session() as session:
        return wallet_statuses(session, settings, user, wallets)


def history_page(ledger: Ledger, wallets: Sequence[str], limit: int, offset: int) -> tuple[list[Entry], int]:
    with ledger.session() as session:
        return history(session, wallets, limit, offset)


def csv_batch(ledger: Ledger, wallets: Sequence[str], after: tuple[datetime, int] | None,
              size: int) -> list[Entry]:
    with ledger.session() as session:
        return entries_after(session, wallets, after, size)


@dataclass(frozen=True)
class PageData:
    statuses: list[WalletStatus]
    entries: list[Entry]
    total: int
    usage: list[tuple[str, str, int]]


def page_data(ledger: Ledger, settings: CreditsSection, user: str, wallets: list[str], limit: int,
              offset: int, since: datetime) -> PageData:
    """Everything the credits page shows, read in one session."""
    with ledger.session() as session:
        entries, total = history(session, wallets, limit, offset)
        return PageData(statuses=wallet_statuses(session, settings, user, wallets), entries=entries,
                        total=total, usage=usage_per_day(session, wallets, since))


def post_entry(ledger: Ledger, entry: NewEntry) -> None:
    with ledger.session.begin() as session:
        post(session, [entry])
