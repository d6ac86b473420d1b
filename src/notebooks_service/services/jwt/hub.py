"""The service's own dealings with the hub: provisioning users and minting per-user tokens.

Only these calls use the service's token; proxied requests use the user's token so that the hub's
RBAC decides what the caller may do. Per-user tokens live in memory only, are reused until shortly
before they expire and are minted to expire no later than the OIDC token that caused them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from notebooks_service.services.jwt.cache import TtlCache
from notebooks_service.services.jwt.identity import Identity

log = logging.getLogger(__name__)

TOKEN_NOTE_PREFIX = "notebooks jwt service"
"""Start of the `note` of every hub token minted here, visible in the user's token page."""


class HubUnavailable(Exception):
    """The hub could not be reached or failed while we provisioned a user (502)."""


@dataclass(frozen=True)
class HubReply:
    """A hub answer to one of the service's own calls, body read and decoded."""

    status: int
    data: Any
    """The decoded JSON body, or None."""
    reason: str

    def message(self) -> str:
        if isinstance(self.data, dict) and self.data.get("message"):
            return str(self.data["message"])
        return self.reason


@dataclass(frozen=True)
class HubToken:
    token: str
    token_id: str
    username: str
    expires_at: float
    lifetime: float

    def fresh(self, now: float) -> bool:
        """Usable for another request: not within the last tenth (at most 30 s) of its life."""
        return now < self.expires_at - min(30.0, self.lifetime / 10)


def q(name: str) -> str:
    return quote(name, safe="")


class HubAdmin:
    """Calls the hub API with the service's own token (user provisioning and token minting)."""

    def __init__(self, http: aiohttp.ClientSession, api_url: str, service_token: str) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._headers = {"Authorization": f"token {service_token}"}

    async def call(self, method: str, path: str, body: Any = None) -> HubReply:
        try:
            async with self._http.request(method, f"{self._api_url}/{path}", json=body,
                                          headers=self._headers) as response:
                raw = await response.read()
                return HubReply(response.status, _json_or_none(raw), response.reason or "")
        except (TimeoutError, aiohttp.ClientError) as e:
            log.warning("hub %s %s failed: %s", method, path, type(e).__name__)
            raise HubUnavailable("hub unreachable") from None

    def _expect(self, reply: HubReply, what: str, *ok: int) -> HubReply:
        if reply.status not in ok:
            message = reply.message()
            log.error("hub refused to %s: HTTP %s %s", what, reply.status, message)
            raise HubUnavailable(f"hub refused to {what}: {message}")
        return reply

    async def ensure_user(self, identity: Identity) -> None:
        """Create the user if needed and set their groups exactly as a browser login would."""
        name = identity.username
        response = await self.call("GET", f"users/{q(name)}")
        if response.status == 404:
            created = await self.call("POST", f"users/{q(name)}", {})
            self._expect(created, f"create user {name!r}", 201, 409)
            log.info("created hub user %s (first seen through the API)", name)
            current: set[str] = set()
        else:
            current = set(self._expect(response, f"read user {name!r}", 200).data["groups"])
        wanted = set(identity.admission.groups)
        for group in sorted(wanted - current):
            await self._add_to_group(name, group)
        for group in sorted(current - wanted):
            removed = await self.call("DELETE", f"groups/{q(group)}/users", {"users": [name]})
            self._expect(removed, f"remove {name!r} from group {group!r}", 200, 404)
        if wanted != current:
            log.info("groups of %s set to %s", name, ", ".join(sorted(wanted)) or "(none)")

    async def _add_to_group(self, name: str, group: str) -> None:
        added = await self.call("POST", f"groups/{q(group)}/users", {"users": [name]})
        if added.status == 404:
            created = await self.call("POST", f"groups/{q(group)}", {})
            self._expect(created, f"create group {group!r}", 201, 409)
            added = await self.call("POST", f"groups/{q(group)}/users", {"users": [name]})
        self._expect(added, f"add {name!r} to group {group!r}", 200)

    async def mint(self, identity: Identity, expires_in: int) -> dict[str, Any]:
        """A new token for the user with the user's own permissions (the hub's `inherit`)."""
        note = f"{TOKEN_NOTE_PREFIX}: OIDC bearer token of {identity.issuer}"
        response = await self.call("POST", f"users/{q(identity.username)}/tokens",
                                   {"expires_in": expires_in, "note": note})
        return self._expect(response, f"issue a token for {identity.username!r}", 201).data

    async def revoke(self, username: str, token_id: str) -> None:
        with contextlib.suppress(HubUnavailable):
            await self.call("DELETE", f"users/{q(username)}/tokens/{q(token_id)}")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class UserTokens:
    """Per-user hub tokens: provision and mint on a miss, one mint at a time per user."""

    def __init__(self, admin: HubAdmin, *, max_lifetime: int = 3600, max_users: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.admin = admin
        self.max_lifetime = max_lifetime
        self._clock = clock
        self._tokens: TtlCache[HubToken] = TtlCache(max_users, clock)
        self._inflight: dict[str, asyncio.Future[HubToken]] = {}
        self.minted = 0

    async def token_for(self, identity: Identity) -> tuple[HubToken, bool]:
        """A usable token and whether it was just minted."""
        cached = self._tokens.get(identity.username)
        if cached is not None and cached.fresh(self._clock()):
            return cached, False
        pending = self._inflight.get(identity.username)
        if pending is not None:
            return await asyncio.shield(pending), True
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
        await self.admin.ensure_user(identity)
        model = await self.admin.mint(identity, lifetime)
        self.minted += 1
        token = HubToken(token=model["token"], token_id=str(model["id"]),
                         username=identity.username, expires_at=now + lifetime,
                         lifetime=lifetime)
        self._tokens.put(identity.username, token, token.expires_at)
        log.info("issued hub token %s for %s, valid %ds", token.token_id, identity.username,
                 lifetime)
        return token

    def forget(self, token: HubToken) -> None:
        """Drop `token` (the hub no longer accepts it) so the next request mints a new one."""
        current = self._tokens.get(token.username)
        if current is not None and current.token_id == token.token_id:
            self._tokens.pop(token.username)

    async def revoke_all(self) -> None:
        """Best-effort revocation of every token still cached (at shutdown)."""
        tokens = self._tokens.values()
        await asyncio.gather(*(self.admin.revoke(t.username, t.token_id) for t in tokens))
        for t in tokens:
            self._tokens.pop(t.username)
