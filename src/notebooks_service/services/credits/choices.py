"""Which profile and paying wallet a server uses, and whether a wallet can pay for it: pure rules
shared by the spawn form, admission in the hub and the accounting cycle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from notebooks_service.services.credits.config import CreditsSection, Profile
from notebooks_service.services.credits.ledger import personal_wallet, project_wallet, to_micro


class ChoiceError(ValueError):
    """The requested profile or wallet is not available to the user; the message says why."""


@dataclass(frozen=True)
class Choice:
    profile: str
    wallet: str


def candidate_wallets(settings: CreditsSection, user: str, groups: Iterable[str],
                      existing: Iterable[str] = ()) -> list[str]:
    """The user's personal wallet, then the project wallets of their groups that are configured or
    already hold entries (`existing`)."""
    known = set(existing)
    projects = [project_wallet(g) for g in sorted(set(groups))
                if (g in settings.grants and settings.grants[g].wallet == "project")
                or project_wallet(g) in known]
    return [personal_wallet(user), *projects]


def default_profile(settings: CreditsSection, groups: Iterable[str]) -> str | None:
    allowed = settings.profiles_for(set(groups))
    if settings.default_profile in allowed:
        return settings.default_profile
    return next(iter(allowed), None)


def choose(settings: CreditsSection, user: str, groups: Iterable[str], options: Mapping[str, Any],
           wallets: list[str]) -> Choice:
    """The profile and wallet of `options` (defaults when absent), checked against what the user may use."""
    groups = set(groups)
    name = options.get("profile") or default_profile(settings, groups)
    if not name:
        raise ChoiceError("no server profile is available to your groups")
    if not isinstance(name, str) or name not in settings.profiles:
        raise ChoiceError(f"unknown profile {name!r}; choose one of: {', '.join(settings.profiles)}")
    if not settings.profiles[name].allows(groups):
        reserved = ", ".join(settings.profiles[name].groups)
        raise ChoiceError(f"profile {name!r} is reserved for the groups {reserved}")
    wallet = options.get("wallet") or wallets[0]
    if wallet not in wallets:
        raise ChoiceError(f"you cannot pay from wallet {wallet!r}; yours: {', '.join(wallets)}")
    return Choice(profile=name, wallet=wallet)


def price_micro(profile: Profile) -> int:
    """Micro-credits per hour."""
    return to_micro(profile.price_per_hour)


def runway_seconds(balance: int, micro_per_hour: int) -> float:
    """How long `balance` lasts at `micro_per_hour`; infinite when nothing is spent."""
    if micro_per_hour <= 0:
        return math.inf
    return max(balance, 0) * 3600 / micro_per_hour


def warning_level(runway: float, thresholds: Iterable[int]) -> int | None:
    """The smallest threshold the runway has fallen to, or None when above them all."""
    reached = [t for t in thresholds if runway <= t]
    return min(reached) if reached else None
