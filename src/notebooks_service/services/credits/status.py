"""What a user's wallets hold and how long that lasts: shared by the API, the page and the hub.

Reads only, except `refresh_grants`, which posts the user's grants for the current period so that a
new member sees their credits before the accounting cycle has met them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notebooks_service.services.credits.choices import (
    candidate_wallets,
    runway_seconds,
    warning_level,
)
from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.grants import apply_grants
from notebooks_service.services.credits.ledger import (
    Ledger,
    balances,
    existing_wallets,
    project_wallet,
    to_credits,
)
from notebooks_service.services.credits.models import RunningServer


@dataclass(frozen=True)
class WalletStatus:
    wallet: str
    balance: int
    spending: int
    """Micro-credits per hour of the servers it pays for now."""
    servers: tuple[tuple[str, str, float, str], ...]
    """(server, profile, price per hour, zone) of each server it pays for, in every zone."""
    unlimited: bool
    thresholds: tuple[int, ...]

    @property
    def runway(self) -> float:
        return math.inf if self.unlimited else runway_seconds(self.balance, self.spending)

    @property
    def warning(self) -> int | None:
        if self.unlimited or not self.spending:
            return None
        return warning_level(self.runway, self.thresholds)

    def as_json(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "balance": to_credits(self.balance),
            "unlimited": self.unlimited,
            "spending_per_hour": to_credits(self.spending),
            "runway_seconds": None if math.isinf(self.runway) else round(self.runway),
            "warning_threshold": self.warning,
            "servers": [{"server": s, "profile": p, "price_per_hour": price, "zone": zone}
                        for s, p, price, zone in self.servers],
        }


def paid_servers(rows: Iterable[RunningServer]) -> tuple[tuple[str, str, float, str], ...]:
    """`WalletStatus.servers` of these `running_servers` rows: with zones sharing the ledger, the
    same user and server name may run in two zones, told apart by the zone."""
    return tuple((f"{r.user}/{r.server_name}", r.profile, to_credits(r.price), r.zone) for r in rows)


def user_wallets(session: Session, settings: CreditsSection, user: str, groups: Iterable[str]) -> list[str]:
    """Wallets `user` may read and pay from: personal first, then their groups' project wallets."""
    groups = list(groups)
    existing = existing_wallets(session, [project_wallet(g) for g in groups])
    return candidate_wallets(settings, user, groups, existing)


def refresh_grants(ledger: Ledger, settings: CreditsSection, user: str, groups: Iterable[str],
                   now: datetime) -> None:
    with ledger.session.begin() as session:
        apply_grants(session, settings, [(user, list(groups))], now)


def wallet_statuses(session: Session, settings: CreditsSection, user: str, wallets: list[str]
                    ) -> list[WalletStatus]:
    current = balances(session, wallets)
    running = session.scalars(select(RunningServer).where(RunningServer.wallet.in_(wallets))).all()
    result = []
    for wallet in wallets:
        mine = [r for r in running if r.wallet == wallet]
        result.append(WalletStatus(
            wallet=wallet, balance=current[wallet], spending=sum(r.price for r in mine),
            servers=paid_servers(mine),
            unlimited=user in settings.unlimited_users and wallet == wallets[0],
            thresholds=tuple(settings.warning_thresholds)))
    return result


def format_duration(seconds: float | None) -> str:
    if seconds is None or math.isinf(seconds):
        return "unlimited"
    minutes = int(seconds // 60)
    if minutes < 1:  # "0 min" would hide how close a stop is
        return f"{max(int(seconds), 0)} s"
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} days"


def warning_text(statuses: Iterable[WalletStatus], grace_period: int) -> str:
    """One sentence for the hub page and notifications; empty when nothing needs saying."""
    parts = []
    for status in statuses:
        if status.warning is None:
            continue
        if status.balance <= 0:
            parts.append(f"wallet {status.wallet} is empty: its servers stop within "
                         f"{format_duration(grace_period)}")
        else:
            parts.append(f"wallet {status.wallet} lasts {format_duration(status.runway)} at current use")
    return ("Credits: " + "; ".join(parts) + ".") if parts else ""
