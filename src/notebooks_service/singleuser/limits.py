"""`GET <server>/notebooks-limits`: the server's CPU and memory limits, and how often the kernel killed
one of its processes for exceeding the memory limit.

A kernel killed for its memory otherwise just "dies" in JupyterLab; the lab extension asks here and
tells the user why. The count comes from the server's own cgroup (`NOTEBOOKS_MEMORY_EVENTS`, set by the
spawner when limits are enforced), which the server watches so its log says so too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from tornado import web

from notebooks_service.isolation.cgroups import read_oom_kills

log = logging.getLogger(__name__)

EVENTS_ENV = "NOTEBOOKS_MEMORY_EVENTS"
WATCH_INTERVAL = 2.0


class MemoryWatch:
    """Follows the cgroup's kill counter; counts only kills that happened while this server ran."""

    def __init__(self, events_file: Path | None) -> None:
        self.events_file = events_file
        self.baseline = read_oom_kills(events_file) if events_file else 0
        self.kills = 0
        self.last_kill = 0.0

    def check(self) -> None:
        if self.events_file is None:
            return
        kills = read_oom_kills(self.events_file) - self.baseline
        if kills > self.kills:
            self.last_kill = time.time()
            log.warning("A process of this server was killed for exceeding its memory limit of %s "
                        "(%d so far)", memory_text(os.environ.get("MEM_LIMIT", "")), kills)
        self.kills = max(kills, self.kills)

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(WATCH_INTERVAL)


def memory_text(limit: str) -> str:
    try:
        return f"{int(limit) / 1024**3:.3g} GiB"
    except ValueError:
        return "unknown size"


def watch_from_environment() -> MemoryWatch:
    path = os.environ.get(EVENTS_ENV)
    return MemoryWatch(Path(path) if path else None)


class LimitsHandler(APIHandler):
    def initialize(self, watch: MemoryWatch) -> None:
        self.watch = watch

    @web.authenticated
    def get(self) -> None:
        self.watch.check()
        self.set_header("Cache-Control", "no-store")
        self.finish({
            "enforced": self.watch.events_file is not None,
            "memory_limit_bytes": int(os.environ.get("MEM_LIMIT") or 0),
            "cpu_limit": float(os.environ.get("CPU_LIMIT") or 0),
            "memory_kills": self.watch.kills,
            "last_memory_kill": self.watch.last_kill,
        })
