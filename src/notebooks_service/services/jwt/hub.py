"""The service's own dealings with the hub: per-user hub tokens obtained by bearer-login.

Only bearer-login uses the service's token; proxied requests use the user's token so that the hub's
RBAC decides what the caller may do. Per-user tokens live in memory only, are reused until shortly
before they expire and are minted to expire no later than the OIDC token that caused them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notebooks_service.auth.admission import Admission
from notebooks_service.oidc.verify import InvalidToken, ProviderUnavailable
from notebooks_service.services.hub_api import HubApi, HubUnavailable, quote_name
from notebooks_service.services.jwt.cache import TtlCache
from notebooks_service.services.jwt.identity import Identity, NotAdmitted

log = logging.getLogger(__name__)

BEARER_LOGIN_PATH = "notebooks/bearer-login"
"""Relative to the hub API URL: see notebooks_service.auth.bearer_login."""
TOKEN_NOTE_PREFIX = "notebooks jwt service"
"""Start of the `note` of every hub token minted here, visible in the user's token page."""


@dataclass(frozen=True)
class HubToken:
    token: str
    token_id: str
    username: str
    """The user's name in the token's claims: the key of the service's cache."""
    hub_name: str
    """The name the hub gave the user (the hub may normalize it): the one its API paths take."""
    expires_at: float
    lifetime: float
    admission: Admission
    """Groups and admin flag the hub recorded at the bearer-login that issued this token."""
    issued_at: float | None = None
    """`iat` of the OIDC token that caused the bearer-login."""

    def speaks_for(self, identity: Identity) -> bool:
        """Whether this token reflects `identity`'s groups: the same ones, or those of a newer
        OIDC token (an older token of the user never logs them in again: the hub would not apply
        its groups, and alternating tokens would mint a hub token per request)."""
        if self.admission == identity.admission:
            return True
        return (identity.issued_at is not None and self.issued_at is not None
                and identity.issued_at < self.issued_at)

    def fresh(self, now: float) -> bool:
        """Usable for another request: not within the last tenth (at most 30 s) of its life."""
        return now < self.expires_at - min(30.0, self.lifetime / 10)


class HubLogin:
    """The service's own hub calls: bearer-login (which provisions the user as a browser login
    would and issues their token), checking that the hub still accepts an issued token, and
    revoking issued tokens with themselves."""

    def __init__(self, api: HubApi) -> None:
        self.api = api

    async def login(self, identity: Identity, expires_in: int) -> dict[str, Any]:
        """The hub's answer to bearer-login: `name`, `token`, `id` and `expires_in` (capped by
        the hub at the OIDC token's expiry)."""
        note = f"{TOKEN_NOTE_PREFIX}: OIDC bearer token of {identity.issuer}"
        reply = await self.api.call("POST", BEARER_LOGIN_PATH,
                                    body={"token": identity.bearer, "expires_in": expires_in,
                                          "note": note})
        if reply.status == 201:
            return reply.data
        message = reply.message()
        if reply.status == 401:
            raise InvalidToken(message)
        if reply.status == 403:
            raise NotAdmitted(message)
        if reply.status == 503:
            raise ProviderUnavailable(message)
        log.error("hub refused the bearer-login of %s: HTTP %s %s", identity.username,
                  reply.status, message)
        raise HubUnavailable(f"hub refused to log {identity.username!r} in: {message}")

    async def accepts(self, token: HubToken) -> bool:
        """Whether the hub still takes `token` (its user may have deleted it)."""
        return (await self.api.call("GET", "user", token=token.token)).status == 200

    async def revoke(self, token: HubToken) -> None:
        with contextlib.suppress(HubUnavailable):
            await self.api.call(
                "DELETE", f"users/{quote_name(token.hub_name)}/tokens/{quote_name(token.token_id)}",
                token=token.token)


class UserTokens:
    """Per-user hub tokens: a bearer-login on a miss, one at a time per user."""

    def __init__(self, hub: HubLogin, *, max_lifetime: int = 3600, max_users: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.max_lifetime = max_lifetime
        self._clock = clock
        self._tokens: TtlCache[HubToken] = TtlCache(max_users, clock)
        self._inflight: dict[str, asyncio.Future[HubToken]] = {}
        self.minted = 0

    async def token_for(self, identity: Identity) -> tuple[HubToken, bool]:
        """A usable token and whether it was just minted."""
        while True:
            cached = self._tokens.get(identity.username)
            if cached is not None and cached.fresh(self._clock()) and cached.speaks_for(identity):
                return cached, False
            pending = self._inflight.get(identity.username)
            if pending is None:
                break
            # another request is logging this user in, perhaps with another of their tokens: share
            # its result if it fits this caller, never its failure; then look again
            with contextlib.suppress(Exception):
                shared = await asyncio.shield(pending)
                if shared.speaks_for(identity):
                    return shared, True
        if cached is not None and cached.fresh(self._clock()):
            # groups changed at the IdP: log in again, as a browser login would update them
            log.info("groups of %s changed; logging in again", identity.username)
        future: asyncio.Future[HubToken] = asyncio.get_running_loop().create_future()
        self._inflight[identity.username] = future
        try:
            token = await self._mint(identity)
            future.set_result(token)
            return token, True
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # mark retrieved: waiters, if any, get it themselves
            raise
        finally:
            del self._inflight[identity.username]

    async def _mint(self, identity: Identity) -> HubToken:
        now = self._clock()
        lifetime = int(min(self.max_lifetime, identity.expires_at - now))
        if lifetime < 1:
            lifetime = 1
        model = await self.hub.login(identity, lifetime)
        self.minted += 1
        lifetime = int(model.get("expires_in") or lifetime)
        token = HubToken(token=model["token"], token_id=str(model["id"]), username=identity.username,
                         hub_name=str(model.get("name") or identity.username),
                         expires_at=now + lifetime, lifetime=lifetime, admission=identity.admission,
                         issued_at=identity.issued_at)
        replaced = self._tokens.get(identity.username)
        self._tokens.put(identity.username, token, token.expires_at)
        log.info("issued hub token %s for %s, valid %ds", token.token_id, identity.username,
                 lifetime)
        if replaced is not None:
            # unused from now on: requests still holding it are retried with the new one
            await self.hub.revoke(replaced)
        return token

    def forget(self, token: HubToken) -> None:
        """Drop `token` (the hub no longer accepts it) so the next request mints a new one."""
        current = self._tokens.get(token.username)
        if current is not None and current.token_id == token.token_id:
            self._tokens.pop(token.username)

    async def revoke_all(self) -> None:
        """Best-effort revocation of every token still cached (at shutdown)."""
        tokens = self._tokens.values()
        await asyncio.gather(*(self.hub.revoke(t) for t in tokens))
        for t in tokens:
            self._tokens.pop(t.username)
