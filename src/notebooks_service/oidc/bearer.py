"""The claims of a bearer token of any kind: JWTs are verified locally, others introspected.

Shared by the JWT API service (every request, cached) and the hub's bearer-login endpoint (once per
hub token it issues), so both accept exactly the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notebooks_service.oidc.introspect import Introspector
from notebooks_service.oidc.verify import InvalidToken, JwtVerifier, check_characters


@dataclass(frozen=True)
class BearerClaims:
    claims: dict[str, Any]
    introspected: bool
    """True when the provider vouched for an opaque token (its answer may be revoked later)."""


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


async def bearer_claims(token: str, verifier: JwtVerifier,
                        introspector: Introspector | None) -> BearerClaims:
    """Verified claims, or InvalidToken / ProviderUnavailable."""
    if looks_like_jwt(token):
        return BearerClaims(await verifier.verify(token), introspected=False)
    if introspector is None:
        raise InvalidToken("opaque tokens are not accepted")
    check_characters(token)
    return BearerClaims(await introspector.introspect(token), introspected=True)
