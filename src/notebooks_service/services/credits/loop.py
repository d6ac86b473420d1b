"""The accounting loop of a credits service: one cycle at the start of every posting interval.

Cycles start on interval boundaries counted from the Unix epoch, so every process (and every zone)
agrees on interval numbers. A failed cycle is counted and logged, and the loop goes on: the next
cycle charges what it missed. An unreachable ledger gets one line per cycle rather than a traceback,
since an outage may last many cycles; the servers seen meanwhile are remembered (`Sightings`) and
charged when the ledger is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.cycle import Hub, Sightings, accounting_cycle
from notebooks_service.services.credits.ledger import UNREACHABLE, Ledger
from notebooks_service.services.credits.metrics import CreditsMetrics

log = logging.getLogger("notebooks_service.services.credits")


async def run_cycles(hub: Hub, ledger: Ledger, settings: CreditsSection, metrics: CreditsMetrics,
                     stop: asyncio.Event, zone: str = "") -> None:
    """Run `zone`'s cycles until `stop` is set."""
    interval = settings.posting_interval
    sightings = Sightings()
    while not stop.is_set():
        delay = interval - time.time() % interval
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        started = time.perf_counter()
        try:
            report = await accounting_cycle(hub, ledger, settings, datetime.now(UTC), zone=zone,
                                            sightings=sightings)
        except UNREACHABLE as e:
            metrics.cycle_failures.inc()
            reason = (str(e) or type(e).__name__).splitlines()[0]
            log.warning("credits ledger unreachable (%s); the %d servers seen meanwhile are charged when "
                        "it is back, none is stopped", reason, len(sightings.seen))
            continue
        except Exception:
            metrics.cycle_failures.inc()
            log.exception("accounting cycle failed; the next one charges what this one did not")
            continue
        seconds = time.perf_counter() - started
        metrics.record(report, seconds)
        log.debug("cycle: %d running, %d charges, %d stopped in %.3fs", report.running, report.charges,
                  len(report.stopped), seconds)
