"""The hub-side background refresher: every running server's token stays fresh without browser activity.

One small task per running server wakes when the user's access token is due for refresh (the
authenticator's margin), refreshes it through the authenticator's single refresh path (at most
`concurrency` IdP calls at once, never on a request path), and rewrites the server's token files if the
owner opted in. When the IdP is unreachable it retries with exponential backoff and keeps the last
token; when the IdP refuses, it removes the files and leaves the server running. When the server gets
shared it removes the files, stops delivering, revokes every token that was exposed in it and marks the
server so the release service refuses it until it restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from tornado import web
from traitlets import Float, Integer
from traitlets.config import SingletonConfigurable

from notebooks_service.auth.authenticator import RefreshRefused, RefreshUnavailable
from notebooks_service.auth.refresh_due import refresh_due_at
from notebooks_service.tokens.contract import ACCESS_TOKEN_FILE, ID_TOKEN_FILE
from notebooks_service.tokens.exposure import is_shared, listen_for_shares
from notebooks_service.tokens.mount_option import wants_token
from notebooks_service.tokens.revocation import Revoker


@dataclass(eq=False)
class Watch:
    """What the refresher knows about one running server."""

    spawner: Any
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    delivered: str | None = None
    """The access token now in the server's files, if any."""
    exposed: dict[str, float] = field(default_factory=dict)
    """Access tokens the server could have seen (files or release), with their expiry time."""
    shared: bool = False
    refused: str | None = None
    """The access token whose refresh the IdP refused: wait for a new login before trying again."""
    failures: int = 0


def _expiry(auth_state: dict[str, Any]) -> float:
    return float(auth_state.get("access_token_expires_at") or 0)


class TokenRefresher(SingletonConfigurable):
    """Keeps the tokens of running servers fresh, in the hub process (one instance per hub)."""

    concurrency = Integer(
        4, config=True, help="At most this many refreshes talk to the identity provider at once.")
    retry_initial_delay = Float(
        2.0, config=True, help="Seconds before retrying when the IdP is unreachable; doubles each time.")
    retry_max_delay = Float(60.0, config=True, help="Upper bound of the retry delay.")
    check_interval = Float(
        5.0, config=True,
        help="Longest sleep between two looks at a server: bounds how late a removed share, a new "
        "login or a refresh made on a request is noticed. A new share is noticed at once.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._watches: dict[int, Watch] = {}
        self._semaphore = asyncio.Semaphore(self.concurrency)
        listen_for_shares(self._share_added)

    # -- lifecycle, called by the spawner mixin ---------------------------------------------------

    async def watch(self, spawner: Any, *, deliver_now: bool) -> None:
        """Start looking after `spawner` (idempotent). `deliver_now` writes the files before returning."""
        key = spawner.orm_spawner.id
        if key in self._watches:
            return
        watch = Watch(spawner)
        self._watches[key] = watch
        try:
            delay = await self._step(watch) if deliver_now else 0.0
        except BaseException:
            self._watches.pop(key, None)  # the next start must not find a watch that never ran
            raise
        if self._watches.get(key) is watch:  # not unwatched (server stopped) meanwhile
            watch.task = asyncio.create_task(self._loop(watch, delay),
                                             name=f"tokens:{spawner._log_name}")

    def watching(self, spawner: Any) -> bool:
        return spawner.orm_spawner.id in self._watches

    async def unwatch(self, spawner: Any) -> None:
        """Stop looking after `spawner`; the caller removes its files."""
        watch = self._watches.pop(spawner.orm_spawner.id, None)
        if watch and watch.task:
            watch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch.task

    def _share_added(self, spawner_id: int) -> None:
        watch = self._watches.get(spawner_id)
        if watch:
            watch.wake.set()

    # -- the per-server loop ------------------------------------------------------------------

    async def _loop(self, watch: Watch, delay: float) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.wake.wait(), timeout=max(delay, 0.05))
            watch.wake.clear()
            try:
                delay = await self._step(watch)
            except Exception:
                self.log.exception("Token refresher failed for %s", watch.spawner._log_name)
                delay = self.check_interval

    async def _step(self, watch: Watch) -> float:
        """One look at a server; returns the seconds until the next one."""
        spawner = watch.spawner
        if is_shared(spawner.db, spawner.orm_spawner.id):
            if not watch.shared:
                await self._guard_shared(watch)
            return self.check_interval
        if watch.shared:
            watch.shared = False
            self.log.info("%s is no longer shared: token delivery resumes", spawner._log_name)
        auth_state = await spawner.user.get_auth_state() or {}
        if watch.refused and auth_state.get("access_token") == watch.refused:
            return self.check_interval
        watch.refused = None
        try:
            auth_state = await self._refresh(spawner) or auth_state
        except RefreshUnavailable as exc:
            watch.failures += 1
            delay = min(self.retry_initial_delay * 2 ** (watch.failures - 1), self.retry_max_delay)
            self.log.warning("IdP unreachable refreshing the token for %s (attempt %d, next in %.0fs); "
                             "keeping the current token: %s", spawner._log_name, watch.failures, delay, exc)
            return delay
        except RefreshRefused as exc:
            watch.refused = auth_state.get("access_token")
            await self._withdraw(watch, f"the identity provider refused to refresh it ({exc})")
            return self.check_interval
        watch.failures = 0
        await self._deliver(watch, auth_state)
        return self._next_delay(spawner, auth_state)

    async def _refresh(self, spawner: Any) -> dict[str, Any] | None:
        """The new auth_state if a refresh was due and done. Shielded: a stop never loses a rotation."""
        refresh_tokens = getattr(spawner.authenticator, "refresh_tokens", None)
        if refresh_tokens is None:
            return None
        async with self._semaphore:
            model = await asyncio.shield(refresh_tokens(spawner.user))
        return model["auth_state"] if model else None

    def _next_delay(self, spawner: Any, auth_state: dict[str, Any]) -> float:
        """Seconds until the authenticator will find the token due (by the same rule), just after."""
        margin = float(getattr(spawner.authenticator, "refresh_margin_fraction", 1 / 3))
        due = refresh_due_at(auth_state, margin)
        if due is None:
            return self.check_interval
        return min(max(due + 0.05 - time.time(), 0.2), self.check_interval)

    # -- files ---------------------------------------------------------------------------------

    async def _deliver(self, watch: Watch, auth_state: dict[str, Any]) -> None:
        token = auth_state.get("access_token")
        if not token:
            return
        watch.exposed[token] = _expiry(auth_state) or time.time() + 3600
        if not wants_token(watch.spawner.user_options) or token == watch.delivered:
            return
        files = {ACCESS_TOKEN_FILE: token}
        if auth_state.get("id_token"):
            files[ID_TOKEN_FILE] = auth_state["id_token"]
        await watch.spawner.token_sink.write(files)
        watch.delivered = token
        self.log.info("Wrote a fresh access token for %s (valid until %s)", watch.spawner._log_name,
                      time.strftime("%H:%M:%S", time.localtime(_expiry(auth_state))))

    async def _withdraw(self, watch: Watch, reason: str) -> None:
        await watch.spawner.token_sink.remove()
        if watch.delivered:
            self.log.warning("Removed the token files of %s: %s. The server keeps running.",
                             watch.spawner._log_name, reason)
        watch.delivered = None

    async def _guard_shared(self, watch: Watch) -> None:
        """The server became shared: remove the files, block release, revoke what was exposed."""
        spawner = watch.spawner
        watch.shared = True
        spawner.mark_token_exposed()
        await self._withdraw(watch, "the server is shared")
        now = time.time()
        exposed = [token for token, expires in watch.exposed.items() if expires > now]
        watch.exposed.clear()
        if not exposed:
            return
        revoked = await (await self._revoker(spawner)).revoke(exposed)
        self.log.warning("%s was shared: revoked %d of %d exposed access token(s)",
                         spawner._log_name, revoked, len(exposed))
        auth_state = await spawner.user.get_auth_state() or {}
        if auth_state.get("access_token") in exposed:
            await self._replace_revoked(spawner)

    async def _replace_revoked(self, spawner: Any) -> None:
        """Get the user a new access token now that the current one is revoked."""
        refresh_tokens = getattr(spawner.authenticator, "refresh_tokens", None)
        if refresh_tokens is None:
            return
        try:
            async with self._semaphore:
                await asyncio.shield(refresh_tokens(spawner.user, force=True))
        except (RefreshRefused, RefreshUnavailable) as exc:
            self.log.warning("Could not replace the revoked token of %s: %s", spawner.user.name, exc)

    async def _revoker(self, spawner: Any) -> Revoker:
        """A revoker at the IdP's endpoint, discovered without blocking (none while the IdP is
        silent: the exposed tokens are then logged as left valid until they expire)."""
        authenticator = spawner.authenticator
        endpoint = None
        discovered = getattr(authenticator, "discovered", None)
        if discovered is not None:
            try:
                endpoint = (await discovered()).revocation_endpoint
            except web.HTTPError as exc:
                self.log.warning("Cannot revoke exposed tokens: %s", exc.log_message)
        return Revoker(endpoint, authenticator.client_id, authenticator.client_secret)
