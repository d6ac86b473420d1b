"""`GET <server>/notebooks-limits`: the server's CPU and memory limits, and how often the kernel killed
one of its processes for exceeding the memory limit.

A kernel killed for its memory otherwise just "dies" in JupyterLab; the lab extension asks here and
tells the user why. The count comes from the server's own cgroup (`NOTEBOOKS_MEMORY_EVENTS`, set by the
spawner when limits are enforced), which the server watches so its log says so too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

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
        mark_children_first_to_kill()
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


CHILD_OOM_SCORE_ADJ = "500"


def mark_children_first_to_kill() -> None:
    """At the memory limit the kernel's OOM killer must pick a kernel, not the server (which may be the
    larger process while a kernel is filling up): the server's children (kernels, terminals) get a
    higher OOM score. Raising it needs no privilege; each new kernel is marked within WATCH_INTERVAL."""
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            with contextlib.suppress(OSError):
                adj = Path(f"/proc/{child}/oom_score_adj")
                if adj.read_text().strip() != CHILD_OOM_SCORE_ADJ:
                    adj.write_text(CHILD_OOM_SCORE_ADJ)


KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


def mark_new_kernels(event_logger: Any) -> None:
    """Mark a kernel as soon as the server reports it started, not only at the next watch."""

    async def on_kernel_action(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """Called by jupyter_events with these keywords; it must never raise: an error in a listener
        would fail the kernel's start."""
        try:
            mark_children_first_to_kill()
        except Exception:
            log.exception("Marking kernels for the memory limit failed")

    event_logger.add_listener(schema_id=KERNEL_ACTIONS, listener=on_kernel_action)


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
