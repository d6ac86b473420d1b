"""The credits warning on every hub page, read from the ledger off the page path.

The hub renders its templates synchronously on its event loop, calling the `credits_warning`
template variable for every page. Asking the ledger there cost a few queries per page, each one
stalling every other request of the hub while the database answered (and a locked or distant
database stalls them for seconds). Warnings only concern wallets paying for running servers, and
those only change when the accounting cycle posts, once per posting interval. So a background task
reads all of them once per interval, half an interval after each cycle starts, in the thread
pool; a page only looks the user's wallets up in that snapshot. A page may thus show a warning up
to one posting interval late, as the JupyterLab status bar does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from notebooks_service.services.credits.choices import candidate_wallets
from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.ledger import UNREACHABLE, Ledger, balances, personal_wallet
from notebooks_service.services.credits.models import RunningServer
from notebooks_service.services.credits.status import WalletStatus, paid_servers, warning_text

log = logging.getLogger(__name__)


def spending_wallets(ledger: Ledger, settings: CreditsSection) -> dict[str, WalletStatus]:
    """Every wallet paying for a running server, with its balance and spending: two queries."""
    with ledger.session() as session:
        running = session.scalars(select(RunningServer)).all()
        held = balances(session, {r.wallet for r in running})
    servers: dict[str, list[RunningServer]] = defaultdict(list)
    for row in running:
        servers[row.wallet].append(row)
    return {
        wallet: WalletStatus(
            wallet=wallet, balance=held[wallet], spending=sum(r.price for r in rows),
            servers=paid_servers(rows),
            unlimited=False, thresholds=tuple(settings.warning_thresholds))
        for wallet, rows in servers.items()}


class WarningBoard:
    """The snapshot of spending wallets and the task that refreshes it; started by the first page."""

    def __init__(self, ledger: Any, settings: CreditsSection) -> None:
        self._ledger = ledger
        """A callable returning the `Ledger`: the hub opens it lazily, at the first use."""
        self.settings = settings
        self.spending: dict[str, WalletStatus] = {}
        self.refreshed = 0.0
        """`time.monotonic()` of the last successful refresh; 0 before the first."""
        self._task: asyncio.Task[None] | None = None

    def refresh(self) -> None:
        """Read the snapshot (blocking: run it in a thread)."""
        self.spending = spending_wallets(self._ledger(), self.settings)  # replaced whole: readers see
        self.refreshed = time.monotonic()                                # the old or the new one

    async def run(self) -> None:
        interval = self.settings.posting_interval
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except UNREACHABLE as e:  # an outage may last many intervals: one line each, no traceback
                log.warning("credits ledger unreachable (%s); hub pages keep the last warnings read",
                            type(e).__name__)
            except Exception:
                log.exception("cannot read credits warnings; trying again in %d s", interval)
            await asyncio.sleep(interval - (time.time() - interval / 2) % interval)

    def start(self) -> None:
        """Start refreshing, once, on the running loop (the hub has none while it reads its config)."""
        if self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # rendered outside the hub's loop: show the snapshot as it is
            return
        self._task = loop.create_task(self.run(), name="credits-warnings")

    def text_for(self, user: str, groups: list[str]) -> str:
        """The warning for `user`'s wallets from the snapshot: no database work."""
        spending = self.spending
        wallets = candidate_wallets(self.settings, user, groups, spending)
        exempt = personal_wallet(user) if user in self.settings.unlimited_users else None
        statuses = [spending[w] for w in wallets if w in spending and w != exempt]
        return warning_text(statuses, self.settings.grace_period)
