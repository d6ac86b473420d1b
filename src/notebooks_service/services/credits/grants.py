"""Periodic grants from the operator config: one per group, wallet and period, capped.

A grant is keyed by (group, wallet, period number), so it is posted once per period however often
users are looked at; periods count from the Unix epoch, so every service agrees on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.ledger import (
    NewEntry,
    balances,
    existing_keys,
    personal_wallet,
    post,
    project_wallet,
    to_micro,
)


def grant_wallet(group: str, user: str, wallet_kind: str) -> str:
    return project_wallet(group) if wallet_kind == "project" else personal_wallet(user)


def due_grants(settings: CreditsSection, members: Iterable[tuple[str, Iterable[str]]], now: datetime
               ) -> list[tuple[str, NewEntry]]:
    """(group, grant) of this period for (user, groups) pairs, before caps; deduplicated by key."""
    lifetime = timedelta(days=settings.grant_lifetime_days)
    entries: dict[str, tuple[str, NewEntry]] = {}
    for user, groups in members:
        for group in groups:
            grant = settings.grants.get(group)
            if grant is None:
                continue
            wallet = grant_wallet(group, user, grant.wallet)
            period = int(now.timestamp() // (grant.period_days * 86400))
            key = f"grant:{group}:{wallet}:{period}"
            if key not in entries:
                entries[key] = (group, NewEntry(
                    time=now, wallet=wallet, kind="grant", amount=to_micro(grant.amount),
                    actor="credits", reason=f"periodic grant for group {group}", key=key,
                    expires_at=now + lifetime))
    return list(entries.values())


def apply_grants(session: Session, settings: CreditsSection,
                 members: Iterable[tuple[str, Iterable[str]]], now: datetime) -> list[NewEntry]:
    """Post this period's grants not yet posted, each limited by its group's cap; the caller commits."""
    candidates = due_grants(settings, members, now)
    known = existing_keys(session, [e.key for _, e in candidates if e.key])
    todo = [(group, e) for group, e in candidates if e.key not in known]
    if not todo:
        return []
    current = balances(session, [e.wallet for _, e in todo])
    capped: list[NewEntry] = []
    for group, entry in todo:
        cap = settings.grants[group].cap
        amount = entry.amount
        if cap:
            amount = max(0, min(amount, to_micro(cap) - current[entry.wallet]))
        current[entry.wallet] += amount
        reason = entry.reason if amount == entry.amount else f"{entry.reason} (capped at {cap:g})"
        capped.append(replace(entry, amount=amount, reason=reason))
    return post(session, capped)
