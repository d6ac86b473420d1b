"""Who may use the service, decided from token claims alone.

Browser login (the authenticator) and bearer-token API access (the JWT service) call the same function so
that both routes admit exactly the same people with exactly the same groups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from notebooks_service.config.schema import OidcSection


@dataclass(frozen=True)
class Admission:
    username: str
    groups: tuple[str, ...]
    allowed: bool
    admin: bool
    reason: str
    """Why the user was refused; empty when allowed."""


class MissingUsernameClaim(ValueError):
    """The token has no usable value in the configured username claim."""


def claim_groups(claims: Mapping[str, Any], groups_claim: str) -> tuple[str, ...]:
    """The groups/entitlements in `groups_claim`, tolerating a single string or an absent claim."""
    value = claims.get(groups_claim)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return tuple(sorted({str(v) for v in value if str(v)}))


UsernameOf = Callable[[Mapping[str, Any]], Any]
"""A hub's callable `username_claim`: claims in, user name out."""


def admit(claims: Mapping[str, Any], oidc: OidcSection, *, username_of: UsernameOf | None = None
          ) -> Admission:
    """Apply the username claim (or `username_of`, when the hub names users with a function) and
    the allowed/admin group rules of `oidc` to `claims`."""
    username = username_of(claims) if username_of else claims.get(oidc.username_claim)
    if not isinstance(username, str) or not username.strip():
        raise MissingUsernameClaim("the token's claims do not name a user" if username_of
                                   else f"token has no {oidc.username_claim!r} claim")
    username = username.strip().lower()
    groups = claim_groups(claims, oidc.groups_claim)
    admin = bool(set(groups) & set(oidc.admin_groups))
    allowed = admin or not oidc.allowed_groups or bool(set(groups) & set(oidc.allowed_groups))
    reason = "" if allowed else (
        f"user {username!r} is in none of the groups allowed to use this service "
        f"({', '.join(oidc.allowed_groups)})"
    )
    return Admission(username=username, groups=groups, allowed=allowed, admin=admin, reason=reason)
