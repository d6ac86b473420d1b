"""Periodic grants from the operator config: one per group, wallet and period, capped.

A grant is keyed by (group, wallet, period number), so it is posted once per period however often
users are looked at; periods count from the Unix epoch, so every service agrees on them. The key
names no zone: a wallet shared by zones gets its grant once, from whichever zone or hub sees a member
first.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    take_turn,
    to_micro,
)


def grant_wallet(group: str, user: str, wallet_kind: str) -> str:
    return project_wallet(group) if wallet_kind == "project" else personal_wallet(user)


def due_grants(settings: CreditsSection, members: Iterable[tuple[str, Iterable[str]]], now: datetime
               ) -> dict[str, tuple[str, str]]:
    """This period's grant keys for (user, groups) pairs, each with its (group, wallet).

    Only keys: nearly all of them are posted already, and a cycle looks at thousands of users.
    """
    periods = {group: int(now.timestamp() // (grant.period_days * 86400))
               for group, grant in settings.grants.items()}
    due: dict[str, tuple[str, str]] = {}
    for user, groups in members:
        for group in groups:
            if group in periods:
                wallet = grant_wallet(group, user, settings.grants[group].wallet)
                due.setdefault(f"grant:{group}:{wallet}:{periods[group]}", (group, wallet))
    return due


def apply_grants(session: Session, settings: CreditsSection,
                 members: Iterable[tuple[str, Iterable[str]]], now: datetime) -> list[NewEntry]:
    """Post this period's grants not yet posted, each limited by its group's cap; the caller commits."""
    due = due_grants(settings, members, now)
    known = existing_keys(session, due)
    if all(key in known for key in due):
        return []
    take_turn(session)  # another zone or hub may be posting the same grants: look again in turn
    known = existing_keys(session, due)
    todo = [(key, *due[key]) for key in due if key not in known]
    if not todo:
        return []
    current = balances(session, [wallet for _, _, wallet in todo])
    lifetime = timedelta(days=settings.grant_lifetime_days)
    entries: list[NewEntry] = []
    for key, group, wallet in todo:
        grant = settings.grants[group]
        amount = full = to_micro(grant.amount)
        if grant.cap:
            amount = max(0, min(amount, to_micro(grant.cap) - current[wallet]))
        current[wallet] += amount
        reason = f"periodic grant for group {group}"
        entries.append(NewEntry(
            time=now, wallet=wallet, kind="grant", amount=amount, actor="credits", key=key,
            reason=reason if amount == full else f"{reason} (capped at {grant.cap:g})",
            expires_at=now + lifetime))
    return post(session, entries)
