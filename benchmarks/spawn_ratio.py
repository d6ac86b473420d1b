"""Spawn-to-ready of a user server through the service against a bare `jupyter lab` of the same
environment, measured in one run so that the ratio survives a noisy shared machine (issue 11 item 6;
goal: at most 1.2x).

Alternating rounds of:
  bare     `.venv-user/bin/jupyter-lab` started in a temporary home, from process start until its
           `/api/status` answers 200;
  accounts a server spawned through a real `notebooks up` as root (`isolation.mode = "accounts"`: own
           system account, bubblewrap sandbox, cgroup limits) via the hub REST API, from the POST until
           the server's own `/user/<name>/api/status` answers 200 through the proxy;
  trial    the same on a second stack with `isolation.mode = "trial"` (no account, no sandbox), which
           shows what the sandbox itself adds (`--no-trial` skips it).
Servers are stopped between rounds; the first round of each kind is a warm-up (page cache, the home
and the account made on first spawn) and is not counted. Prints every sample, the medians, the hub's
own "took N seconds to start" figures and the ratios.

    .venv/bin/python benchmarks/spawn_ratio.py --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from spawns import (
    REPO,
    hub_notice_gaps,
    hub_start_times,
    login,
    machine_facts,
    median,
    remove_accounts,
    spawn_and_wait,
    start_stack,
    stop_servers,
)

from tests.stack import Stack, free_port

USER = "alice"
POLL_INTERVAL = 0.1
TIMEOUT = 180.0


def bare_lab_seconds(home: Path) -> float:
    """Start a bare JupyterLab of the user environment; seconds until `/api/status` answers 200."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [str(REPO / ".venv-user" / "bin" / "jupyter-lab"), "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}"]
    env = {**os.environ, "HOME": str(home)}
    began = time.monotonic()
    process = subprocess.Popen(argv, cwd=home, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/status"
        while time.monotonic() - began < TIMEOUT:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter-lab exited {process.returncode}")
            try:
                if httpx.get(url, headers={"Authorization": f"token {token}"}).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL)
        raise TimeoutError(f"bare jupyter-lab did not answer within {TIMEOUT:g} s")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def spawned_seconds(stack: Stack, token: str) -> float:
    """Spawn `USER`'s server on `stack` and time it to ready through the proxy; then stop it."""
    async def once() -> float:
        async with httpx.AsyncClient(timeout=30) as client:
            return await spawn_and_wait(client, stack, USER, token, "api/status", POLL_INTERVAL,
                                        TIMEOUT)
    try:
        return asyncio.run(once())
    finally:
        asyncio.run(stop_servers(stack, {USER: token}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds of each kind")
    parser.add_argument("--no-trial", action="store_true", help="skip the trial-mode stack")
    parser.add_argument("--memory-gb", type=float, default=2.0, help="isolation.default_memory_gb")
    parser.add_argument("--cpus", type=float, default=1.0, help="isolation.default_cpu")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("accounts mode needs root: run as root, as the service runs on a shared machine")
    print(f"before: {machine_facts()}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="spawn-ratio-"))
    stacks: dict[str, Stack] = {}
    tokens: dict[str, str] = {}
    try:
        for mode in ("accounts", *(() if args.no_trial else ("trial",))):
            stacks[mode] = start_stack(base, mode, args.memory_gb, cpus=args.cpus)
            tokens[mode] = login(stacks[mode], USER)
        offsets = {mode: len(stack.log()) for mode, stack in stacks.items()}
        bare_home = base / "bare-home"
        bare_home.mkdir()
        kinds: dict[str, Callable[[], float]] = {"bare": lambda: bare_lab_seconds(bare_home)}
        for mode, stack in stacks.items():
            kinds[mode] = lambda stack=stack, token=tokens[mode]: spawned_seconds(stack, token)
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for round_number in range(args.rounds + 1):  # round 0 is the warm-up
            for kind, measure in kinds.items():
                seconds = measure()
                label = "warm-up" if round_number == 0 else f"round {round_number}"
                print(f"{label:<8} {kind:<9} {seconds:6.2f} s", flush=True)
                if round_number:
                    samples[kind].append(seconds)
        report(samples, {mode: hub_start_times(stack, offsets[mode]).get(USER, [])[1:]
                         for mode, stack in stacks.items()},
               {mode: hub_notice_gaps(stack, offsets[mode]).get(USER, [])[1:]
                for mode, stack in stacks.items()})
    finally:
        for stack in stacks.values():
            stack.stop()
        shutil.rmtree(base, ignore_errors=True)
        remove_accounts()
        print(f"after:  {machine_facts()}", flush=True)
    return 0


def report(samples: dict[str, list[float]], hub_took: dict[str, list[float]],
           hub_gaps: dict[str, list[float]]) -> None:
    """Medians, samples, the hub's own start times, how late the hub noticed a server that was up,
    and the ratios against bare."""
    bare = median(samples["bare"])
    print(f"\n{'kind':<9} {'median s':>9}  {'ratio':>6}  samples")
    for kind, values in samples.items():
        print(f"{kind:<9} {median(values):9.2f}  {median(values) / bare:6.2f}  "
              + " ".join(f"{v:.2f}" for v in values))
    for mode, took in hub_took.items():
        if took:
            print(f"hub log, {mode}: took {median(took):.2f} s median (spawner start until the server "
                  f"answers the hub), samples " + " ".join(f"{v:.2f}" for v in took))
    for mode, gaps in hub_gaps.items():
        if gaps:
            print(f"hub log, {mode}: server up -> hub noticed {median(gaps):.2f} s median, samples "
                  + " ".join(f"{v:.2f}" for v in gaps))
    print(f"ratio accounts/bare: {median(samples['accounts']) / bare:.2f} (goal <= 1.2)")
    if "trial" in samples:
        print(f"ratio accounts/trial (what the sandbox adds): "
              f"{median(samples['accounts']) / median(samples['trial']):.2f}")


if __name__ == "__main__":
    sys.exit(main())
