"""From an `Authorization` header to an admitted hub identity.

JWTs are verified locally, anything else is introspected. Results are cached by a hash of the
token (never the token itself) until the token expires, and introspection results for at most
`introspection_cache_seconds`, which bounds how long a revoked opaque token keeps working. Cached
identities keep working while the identity provider is down.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from notebooks_service.auth.admission import Admission, MissingUsernameClaim, admit
from notebooks_service.config.schema import OidcSection
from notebooks_service.oidc.authorization import credentials
from notebooks_service.oidc.bearer import bearer_claims
from notebooks_service.oidc.introspect import Introspector
from notebooks_service.oidc.verify import InvalidToken, JwtVerifier, UnknownSigningKey, time_claim
from notebooks_service.services.jwt.cache import TtlCache

log = logging.getLogger(__name__)


class NotAdmitted(Exception):
    """The token is valid but its holder may not use the service (403)."""


REFUSAL_SECONDS = 60
"""How long a refused token is answered from memory, without another check."""


@dataclass(frozen=True)
class Identity:
    admission: Admission
    expires_at: float
    """When the OIDC token stops being valid (epoch seconds)."""
    issuer: str
    subject: str
    bearer: str = field(repr=False, compare=False)
    """The token itself, handed to the hub's bearer-login when a hub token is needed."""
    issued_at: float | None = None
    """The token's `iat`, when it has one: which of two tokens of a user tells the newer groups."""

    @property
    def username(self) -> str:
        return self.admission.username


def token_key(token: str) -> str:
    """A cache key for `token`; lossless for any text, so two different tokens never share one."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class BearerAuth:
    """Verifies bearer tokens and applies the shared admission rules."""

    def __init__(
        self,
        oidc: OidcSection,
        verifier: JwtVerifier,
        introspector: Introspector | None,
        *,
        introspection_cache_seconds: float = 60.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.oidc = oidc
        self.verifier = verifier
        self.introspector = introspector
        self.introspection_cache_seconds = introspection_cache_seconds
        self._clock = clock
        self._identities: TtlCache[Identity] = TtlCache(cache_size, clock)
        self._refused: TtlCache[str] = TtlCache(cache_size, clock)
        """Recently refused tokens -> reason, so floods of bad tokens cost no provider calls."""

    async def identify(self, authorization: str | None) -> Identity:
        """The admitted identity, or InvalidToken / ProviderUnavailable / NotAdmitted."""
        token = credentials(authorization)
        key = token_key(token)
        cached = self._identities.get(key)
        if cached is not None:
            return self._admitted(cached)
        refused = self._refused.get(key)
        if refused is not None:
            raise InvalidToken(refused)
        try:
            identity, cache_until = await self._verify(token)
        except InvalidToken as e:
            # a key not yet published may be by the next allowed JWKS fetch: refuse until then only
            seconds = (self.verifier.min_jwks_refetch_interval if isinstance(e, UnknownSigningKey)
                       else REFUSAL_SECONDS)
            self._refused.put(key, str(e), self._clock() + seconds)
            raise
        self._identities.put(key, identity, cache_until)
        return self._admitted(identity)

    def _admitted(self, identity: Identity) -> Identity:
        if not identity.admission.allowed:
            raise NotAdmitted(identity.admission.reason)
        return identity

    async def _verify(self, token: str) -> tuple[Identity, float]:
        now = self._clock()
        verified = await bearer_claims(token, self.verifier, self.introspector)
        if not verified.introspected:
            identity = self._identity(token, verified.claims)
            return identity, identity.expires_at
        identity = self._identity(token, verified.claims,
                                  default_lifetime=self.introspection_cache_seconds)
        return identity, min(identity.expires_at, now + self.introspection_cache_seconds)

    def _identity(self, token: str, claims: dict[str, Any], default_lifetime: float = 0.0
                  ) -> Identity:
        try:
            admission = admit(claims, self.oidc)
        except MissingUsernameClaim as e:
            admission = Admission(username="", groups=(), allowed=False, admin=False,
                                  reason=str(e))
        exp = time_claim(claims, "exp")
        expires_at = exp if exp is not None else self._clock() + default_lifetime
        return Identity(admission=admission, expires_at=expires_at,
                        issuer=str(claims.get("iss") or self.verifier.metadata.issuer),
                        subject=str(claims.get("sub") or ""), bearer=token,
                        issued_at=time_claim(claims, "iat"))

