"""OIDC discovery for a long-running process: asynchronous, shared, bounded in time, retried.

The hub must never wait for its identity provider inside the event loop: one silent IdP would stall
every user's request. `ProviderLookup` runs discovery as one shared task (so a crowd of logins costs the
provider one request), gives each waiter at most `timeout` seconds, keeps the first good answer for the
life of the process and forgets failures, so that the next caller tries again.
"""

from __future__ import annotations

import asyncio
import logging

from notebooks_service.oidc.discovery import DiscoveryError, ProviderMetadata, discover_async

log = logging.getLogger(__name__)


class ProviderNotResponding(DiscoveryError):
    """Discovery did not finish within the time allowed."""


def _retrieve(task: asyncio.Task[ProviderMetadata]) -> None:
    """Mark a failure as seen: a prefetch nobody awaited must not log "never retrieved"."""
    if not task.cancelled():
        task.exception()


class ProviderLookup:
    """The discovered metadata of one issuer, fetched once without blocking the event loop."""

    def __init__(self, issuer: str, timeout: float = 8.0) -> None:
        self.issuer = issuer
        self.timeout = timeout
        self.metadata: ProviderMetadata | None = None
        """Set by the first successful discovery; None until then."""
        self._task: asyncio.Task[ProviderMetadata] | None = None

    def prefetch(self) -> None:
        """Start discovery in the background, when an event loop runs (at hub start)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._start()

    def _start(self) -> asyncio.Task[ProviderMetadata]:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._discover())
            self._task.add_done_callback(_retrieve)
        return self._task

    async def _discover(self) -> ProviderMetadata:
        try:
            async with asyncio.timeout(self.timeout):
                metadata = await discover_async(self.issuer, timeout=self.timeout)
        except TimeoutError:
            log.warning("OIDC discovery of %s: no answer within %.0fs", self.issuer, self.timeout)
            raise ProviderNotResponding(
                f"{self.issuer}: no answer within {self.timeout:.0f}s") from None
        except DiscoveryError as exc:
            log.warning("OIDC discovery failed: %s", exc)
            raise
        self.metadata = metadata
        return metadata

    async def get(self) -> ProviderMetadata:
        """The metadata, or DiscoveryError (ProviderNotResponding when it took too long)."""
        if self.metadata is not None:
            return self.metadata
        task = self._start()
        try:
            # shielded: a waiter that gives up (client gone) does not cancel the others' discovery
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(task)
        except TimeoutError:
            raise ProviderNotResponding(
                f"{self.issuer}: no answer within {self.timeout:.0f}s") from None
