"""Duration of one accounting cycle with N running servers recorded in the ledger database.

For each N: a fresh ledger (SQLite in a temp dir, or `--database-url`), `--idle-users` users who
are not running anything (each with a grant and some history), N running servers whose owners were
granted credits and that an earlier cycle has already seen; then one timed cycle charges all N.
The hub is an in-memory stand-in, so the figure is the ledger work the service does per cycle.
Prints one line per N, and the time per running server, which should stay flat (linear growth).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from notebooks_service.services.credits.config import CreditsSection, GroupGrant, Profile
from notebooks_service.services.credits.cycle import accounting_cycle
from notebooks_service.services.credits.hub import ServerSnapshot
from notebooks_service.services.credits.ledger import Ledger, NewEntry, post, to_micro

log = logging.getLogger("credits_cycle")
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
SETTINGS = CreditsSection(
    enabled=True, posting_interval=60, profiles={"small": Profile(price_per_hour=1.0)},
    grants={"researchers": GroupGrant(amount=100, period_days=90)})


class StandInHub:
    def __init__(self, servers: list[ServerSnapshot]) -> None:
        self.servers = servers

    async def active_servers(self) -> list[ServerSnapshot]:
        return self.servers

    async def stop_server(self, user: str, name: str) -> None:
        raise AssertionError("nothing should be stopped")


def fresh_url(base: str | None, workdir: Path, n: int) -> str:
    if not base:
        return f"sqlite:///{workdir / f'ledger-{n}.sqlite'}"
    name = f"credits_bench_{n}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def seed_idle_users(ledger: Ledger, count: int) -> None:
    with ledger.session.begin() as session:
        entries = []
        for i in range(count):
            wallet = f"user:idle{i}"
            entries.append(NewEntry(time=T0 - timedelta(days=5), wallet=wallet, kind="grant",
                                    amount=to_micro(100), expires_at=T0 + timedelta(days=100)))
            entries += [NewEntry(time=T0 - timedelta(days=4, minutes=m), wallet=wallet, kind="charge",
                                 amount=-to_micro(0.1), profile="small") for m in range(5)]
        post(session, entries)


async def measure(n: int, url: str, idle_users: int) -> float:
    ledger = Ledger.open(url)
    seed_idle_users(ledger, idle_users)
    servers = [ServerSnapshot(user=f"user{i}", name="", started="2025-06-02T07:59:00Z", ready=True,
                              groups=("researchers",)) for i in range(n)]
    hub = StandInHub(servers)
    await accounting_cycle(hub, ledger, SETTINGS, T0)  # grants, and servers first seen
    started = time.perf_counter()
    report = await accounting_cycle(hub, ledger, SETTINGS, T0 + timedelta(seconds=60))
    seconds = time.perf_counter() - started
    assert report.charges == n, report
    ledger.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1000, 2500, 5000, 10000])
    parser.add_argument("--idle-users", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per N; the median is reported")
    parser.add_argument("--database-url", help="PostgreSQL server URL (a database is created per N)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}, idle users: {args.idle_users}")
    print(f"{'running':>8} {'cycle s':>9} {'ms per 1k servers':>18}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as workdir:
        for n in args.servers:
            runs = []
            for attempt in range(args.repeat):
                url = fresh_url(args.database_url, Path(workdir), n * 10 + attempt)
                runs.append(asyncio.run(measure(n, url, args.idle_users)))
            median = statistics.median(runs)
            worst = max(worst, median if n >= 10000 else 0)
            print(f"{n:>8} {median:>9.3f} {median / n * 1e6:>18.1f}")
    if worst >= 1.0:
        print("goal missed: a cycle with 10,000 running servers took >= 1 s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
