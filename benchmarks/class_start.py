"""A class starts: 30 demo users, already logged in, all start their servers at the same moment on this
one machine (issue 11 item 6). Measures, per user, the time from the POST that starts the server until
their JupyterLab (`/user/<name>/lab`) answers 200 through the proxy, and the time until every one
answers; prints p50/p95/max/total, first with `isolation.mode = "accounts"` (system accounts, sandbox,
cgroup limits; needs root), then with `"trial"` (no accounts, no sandbox) in the same run, and the
ratios. Each mode runs on its own stack, one after the other, so both get the whole machine.

With `--repeat 2` each mode's class starts twice on the same stack: the first start makes the homes
(and in accounts mode the system accounts), the second is a class's next session. A server the hub
gives up on (`Spawner.http_timeout`, 60 s; `start_timeout`, 120 s) is reported as failed, not hidden.
`--at-most 2` starts only two servers at a time, the others queued in this client from the same
moment, to show what a start queue in the service would give.

    .venv/bin/python benchmarks/class_start.py --users 30 --repeat 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from spawns import (
    hub_notice_gaps,
    hub_start_times,
    login_all,
    machine_facts,
    percentile,
    remove_accounts,
    spawn_and_wait,
    start_stack,
    stop_servers,
)

from tests.stack import Stack

FAILURE_WORDS = ("never showed up", "failed to start", "Timeout")
"""Hub log lines that say why a server was given up on (http_timeout, start_timeout)."""
POLL_INTERVAL = 1.0
"""Each waiting user asks once a second: 30 users polling faster would load the hub they wait for."""


@dataclass
class ClassStart:
    mode: str
    repeat: int
    seconds: dict[str, float]
    failures: dict[str, str]
    total: float
    hub_took: list[float]
    hub_gaps: list[float]
    """Per server: its own "is running at" until the hub's check noticed it."""
    min_available_mib: int
    load: list[float] = field(default_factory=list)

    def line(self) -> str:
        times = list(self.seconds.values())
        summary = (f"p50 {percentile(times, 50):6.1f} s  p95 {percentile(times, 95):6.1f} s  "
                   f"max {max(times):6.1f} s" if times else "no server answered")
        took = (f"  hub 'took' p50 {percentile(self.hub_took, 50):.1f} / max {max(self.hub_took):.1f} s"
                if self.hub_took else "")
        if self.hub_gaps:
            took += (f"  up->noticed p50 {percentile(self.hub_gaps, 50):.1f} / max "
                     f"{max(self.hub_gaps):.1f} s")
        return (f"{self.mode:<9} #{self.repeat}  ready {len(times):>2}/{len(times) + len(self.failures)}"
                f"  {summary}  total {self.total:6.1f} s{took}  min MemAvailable "
                f"{self.min_available_mib} MiB  peak load {max(self.load, default=0):.1f}")


def available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


async def class_start(stack: Stack, tokens: dict[str, str], mode: str, repeat: int,
                      timeout: float, at_most: int = 0) -> ClassStart:
    """Everyone POSTs at once; wait for every JupyterLab (or its failure); sample memory and load.
    With `at_most`, only that many servers start at a time (the others wait their turn in this
    client, as a start queue in the service would make them): per-user times then count from the
    moment the whole class asked, queueing included."""
    log_offset = len(stack.log())
    samples: list[tuple[int, float]] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append((available_mib(), float(Path("/proc/loadavg").read_text().split()[0])))
            await asyncio.sleep(2)

    limits = httpx.Limits(max_connections=len(tokens) * 2, max_keepalive_connections=len(tokens) * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        sampler = asyncio.create_task(sample())
        turns = asyncio.Semaphore(at_most or len(tokens))
        began = time.monotonic()

        async def one(name: str, token: str) -> float:
            async with turns:
                queued = time.monotonic() - began
                return queued + await spawn_and_wait(client, stack, name, token, "lab",
                                                     POLL_INTERVAL, timeout)

        results = await asyncio.gather(*(one(name, token) for name, token in tokens.items()),
                                       return_exceptions=True)
        total = time.monotonic() - began
        done.set()
        await sampler
    seconds, failures = {}, {}
    for name, result in zip(tokens, results, strict=True):
        if isinstance(result, BaseException):
            failures[name] = f"{type(result).__name__}: {result}"
        else:
            seconds[name] = result
    took = [v for values in hub_start_times(stack, log_offset).values() for v in values]
    gaps = [v for values in hub_notice_gaps(stack, log_offset).values() for v in values]
    return ClassStart(mode, repeat, seconds, failures, total, took, gaps,
                      min((mib for mib, _ in samples), default=available_mib()),
                      [load for _, load in samples])


def run_mode(base: Path, mode: str, users: list[str], args: argparse.Namespace) -> list[ClassStart]:
    """One stack in `mode`: log everyone in, then `args.repeat` class starts, stopping all between."""
    stack = start_stack(base, mode, args.memory_gb,
                        users=[{"username": name, "groups": ["researchers"]} for name in users])
    results = []
    tokens: dict[str, str] = {}
    try:
        tokens = login_all(stack, users)
        for repeat in range(1, args.repeat + 1):
            result = asyncio.run(class_start(stack, tokens, mode, repeat, args.timeout,
                                             args.at_most))
            print(result.line(), flush=True)
            for name, reason in result.failures.items():
                print(f"  failed: {name}: {reason}", flush=True)
            results.append(result)
            asyncio.run(stop_servers(stack, tokens, timeout=180))
    finally:
        if tokens:
            try:
                asyncio.run(stop_servers(stack, tokens, timeout=180))
            except Exception as exc:  # the stack's own stop below ends whatever is left
                print(f"stopping {mode} servers: {exc}", flush=True)
        stack.stop()
        failed_lines = [line for line in stack.log().splitlines()
                        if any(word in line for word in FAILURE_WORDS)]
        for line in failed_lines[:3]:
            print(f"  hub log: {line[:300]}", flush=True)
        if len(failed_lines) > 3:
            print(f"  hub log: {len(failed_lines)} such lines in all", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="class starts per mode")
    parser.add_argument("--memory-gb", type=float, default=1.0,
                        help="isolation.default_memory_gb: a per-server cap, not a reservation")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one user waits at most")
    parser.add_argument("--at-most", type=int, default=0,
                        help="start only this many servers at a time (a client-side start queue, to "
                        "show what one in the service would give); 0 = everyone at once")
    parser.add_argument("--modes", nargs="+", default=["accounts", "trial"],
                        choices=["accounts", "trial"])
    args = parser.parse_args(argv)
    if "accounts" in args.modes and os.geteuid() != 0:
        parser.error("accounts mode needs root: run as root, as the service runs on a shared machine")
    users = [f"class{i:02d}" for i in range(1, args.users + 1)]
    print(f"before: {machine_facts()}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="class-start-"))
    results: list[ClassStart] = []
    try:
        for mode in args.modes:
            results += run_mode(base, mode, users, args)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        remove_accounts()
        print(f"after:  {machine_facts()}", flush=True)
    report(results)
    return 1 if any(r.failures for r in results) else 0


def report(results: list[ClassStart]) -> None:
    """Everything again in one block, and accounts/trial ratios per repeat."""
    print()
    for result in results:
        print(result.line())
    by_key = {(r.mode, r.repeat): r for r in results}
    for (mode, repeat), accounts in by_key.items():
        trial = by_key.get(("trial", repeat))
        if mode != "accounts" or trial is None or not accounts.seconds or not trial.seconds:
            continue
        a, t = list(accounts.seconds.values()), list(trial.seconds.values())
        print(f"ratio accounts/trial #{repeat}: p50 {percentile(a, 50) / percentile(t, 50):.2f}  "
              f"p95 {percentile(a, 95) / percentile(t, 95):.2f}  total {accounts.total / trial.total:.2f}")


if __name__ == "__main__":
    sys.exit(main())
