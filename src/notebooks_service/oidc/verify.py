"""Local verification of JWT access tokens against the issuer's published keys (JWKS).

Every failure a caller can cause becomes `InvalidToken` with a short reason that is safe to echo;
failures of the identity provider become `ProviderUnavailable` so the caller can answer 503 rather
than 401. Keys are cached; an unknown `kid` triggers a refetch at most once per interval so that a
flood of forged tokens cannot turn into a flood of requests to the provider.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import jwt

from notebooks_service.oidc.discovery import ProviderMetadata

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 16 * 1024
"""Longer tokens are refused before any parsing."""


class InvalidToken(Exception):
    """The token is not acceptable; the message is a short reason safe to show the caller."""


class UnknownSigningKey(InvalidToken):
    """No published key has the token's `kid`: the provider may publish it soon (key rotation)."""

    def __init__(self) -> None:
        super().__init__("unknown signing key")


class ProviderUnavailable(Exception):
    """The provider's JWKS or introspection endpoint could not be used."""


class _Default(enum.Enum):
    CONSTRUCTOR = enum.auto()


USE_DEFAULT = _Default.CONSTRUCTOR
"""Sentinel for `JwtVerifier.verify(audience=...)`: use the audience given to the constructor."""

_KTY_BY_PREFIX = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_CURVE_BY_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "secp256k1"}


def asymmetric_only(algorithms: Sequence[str]) -> tuple[str, ...]:
    """`algorithms` with `none` and every symmetric (HS*) algorithm removed."""
    return tuple(a for a in algorithms if a.lower() != "none" and not a.upper().startswith("HS"))


def key_matches(jwk: Mapping[str, Any], alg: str) -> bool:
    """Whether the JWK may verify signatures made with `alg` (kty, curve, alg and use agree)."""
    if jwk.get("use", "sig") != "sig":
        return False
    if "alg" in jwk and jwk["alg"] != alg:
        return False
    if jwk.get("kty") != _KTY_BY_PREFIX.get(alg[:2]):
        return False
    return alg not in _CURVE_BY_ALG or jwk.get("crv") == _CURVE_BY_ALG[alg]


def time_claim(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim (`exp`, `iat`, `nbf`) in seconds, None when absent or not a number."""
    value = claims.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def check_characters(token: str) -> None:
    """Size and character limits that apply to every bearer token, JWT or opaque."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("empty token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("token too large")
    if not token.isascii() or not token.isprintable():
        raise InvalidToken("token contains invalid characters")


def check_shape(token: str) -> None:
    """Cheap checks that reject garbage before any decoding."""
    check_characters(token)
    if token.count(".") != 2:
        raise InvalidToken("token is not a JWT")


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, or InvalidToken if it cannot be decoded."""
    try:
        header = jwt.get_unverified_header(token)
    except Exception:
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


class JwtVerifier:
    """Verifies JWTs issued by one provider; safe to share between concurrent requests."""

    def __init__(
        self,
        metadata: ProviderMetadata,
        *,
        algorithms: Sequence[str],
        audience: str | None = None,
        leeway: float = 30.0,
        min_jwks_refetch_interval: float = 30.0,
        max_jwks_age: float = 3600.0,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.metadata = metadata
        self.algorithms = asymmetric_only(algorithms)
        if not self.algorithms:
            raise ValueError("no asymmetric signature algorithm allowed")
        self.audience = audience or None
        self.leeway = leeway
        self.min_jwks_refetch_interval = min_jwks_refetch_interval
        self.max_jwks_age = max_jwks_age
        """Seconds after which the keys are fetched again, so that a key the provider withdrew stops
        being trusted; while the provider is down the old keys stay in use."""
        self._http = http
        self._timeout = timeout
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._fetch_failed = False
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0
        """How many times the JWKS was requested (for tests and metrics)."""

    async def verify(
        self, token: str, *, audience: str | _Default | None = USE_DEFAULT
    ) -> dict[str, Any]:
        """The verified claims of `token`, or InvalidToken / ProviderUnavailable."""
        check_shape(token)
        header = unverified_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken("signature algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("malformed token")
        keys = await self._keys_for(kid, alg)
        expected_aud = self.audience if audience is USE_DEFAULT else audience
        return self._decode(token, alg, keys, expected_aud)

    def _decode(
        self, token: str, alg: str, keys: list[dict[str, Any]], audience: str | None
    ) -> dict[str, Any]:
        error = "bad signature"
        for jwk_data in keys:
            try:
                key = jwt.PyJWK(jwk_data, algorithm=alg).key
            except Exception:
                log.warning("unusable key %r in JWKS of %s", jwk_data.get("kid"),
                            self.metadata.issuer)
                continue
            try:
                claims = jwt.decode(
                    token, key=key, algorithms=[alg], issuer=self.metadata.issuer,
                    audience=audience, leeway=self.leeway,
                    options={"require": ["exp", "iss"], "verify_aud": audience is not None},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise InvalidToken("token expired") from None
            except jwt.ImmatureSignatureError:
                raise InvalidToken("token not yet valid") from None
            except jwt.InvalidIssuerError:
                raise InvalidToken("wrong issuer") from None
            except jwt.InvalidAudienceError:
                raise InvalidToken("wrong audience") from None
            except jwt.MissingRequiredClaimError as e:
                raise InvalidToken(f"token lacks the {e.claim!r} claim") from None
            except jwt.PyJWTError:
                raise InvalidToken("malformed token") from None
            except Exception:
                # cryptography or json errors on crafted input must still be a 401
                raise InvalidToken("malformed token") from None
            if not isinstance(claims, dict):
                raise InvalidToken("malformed token")
            return claims
        raise InvalidToken(error)

    def _matching(self, kid: str | None, alg: str) -> list[dict[str, Any]]:
        return [k for k in self._keys
                if (kid is None or k.get("kid") == kid) and key_matches(k, alg)]

    def _known_kid(self, kid: str | None) -> bool:
        if kid is None:
            return bool(self._keys)
        return any(k.get("kid") == kid for k in self._keys)

    def _needs_fetch(self, kid: str | None) -> bool:
        if self._fetched_at is None or not self._known_kid(kid):
            return True
        return time.monotonic() - self._fetched_at >= self.max_jwks_age

    async def _keys_for(self, kid: str | None, alg: str) -> list[dict[str, Any]]:
        if self._needs_fetch(kid):
            async with self._lock:
                # another request may have refreshed the keys while we waited
                if self._needs_fetch(kid):
                    try:
                        await self._refresh_if_allowed()
                    except ProviderUnavailable:
                        if not self._known_kid(kid):
                            raise
                        log.warning("keeping the cached signing keys: the provider is unavailable")
        if not self._known_kid(kid):
            raise UnknownSigningKey()
        keys = self._matching(kid, alg)
        if not keys:
            raise InvalidToken("signing key does not match the algorithm")
        return keys

    async def _refresh_if_allowed(self) -> None:
        now = time.monotonic()
        recent = (self._fetched_at is not None
                  and now - self._fetched_at < self.min_jwks_refetch_interval)
        if recent:
            if self._fetch_failed:
                raise ProviderUnavailable("identity provider keys unavailable")
            return
        self._fetched_at = now
        try:
            self._keys = await self._fetch()
            self._fetch_failed = False
        except ProviderUnavailable:
            self._fetch_failed = True
            raise

    async def _fetch(self) -> list[dict[str, Any]]:
        url = self.metadata.jwks_uri
        self.jwks_fetches += 1
        try:
            if self._http is None:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(url)
            else:
                response = await self._http.get(url, timeout=self._timeout)
        except httpx.HTTPError as e:
            log.warning("fetching JWKS %s failed: %s", url, type(e).__name__)
            raise ProviderUnavailable("identity provider keys unavailable") from None
        if response.status_code != 200:
            log.warning("fetching JWKS %s failed: HTTP %s", url, response.status_code)
            raise ProviderUnavailable("identity provider keys unavailable")
        try:
            keys = response.json()["keys"]
            if not isinstance(keys, list):
                raise TypeError("keys is not a list")
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            log.warning("JWKS %s is not a valid key set", url)
            raise ProviderUnavailable("identity provider keys unavailable") from None
        usable = [k for k in keys if isinstance(k, dict)]
        log.info("fetched %d keys from %s", len(usable), url)
        return usable
