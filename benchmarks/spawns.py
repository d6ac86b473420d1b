"""What `spawn_ratio.py` and `class_start.py` share: a real `notebooks up` per isolation mode, logged-in
users with hub tokens, and the spawn clock (POST of the server start until the server itself answers
200 through the proxy, which is what a person waiting in the browser sees).

The stacks use their own account prefix and uid range, so the benchmark never touches the accounts of
tests running beside it on the same machine, and `remove_accounts` can delete exactly what it made.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.stack import Stack, browser_login, hub_token, make_stack  # noqa: E402

ACCOUNT_PREFIX = "nbbench-"
UID_MIN, UID_MAX = 78000, 78999
"""Apart from the default range the tests' accounts come from, so no uid race with a test run."""
HUB_START_LINE = re.compile(r"User (\S+) took ([0-9.]+) seconds to start")
HUB_CHECK_INTERVAL = 5.0
"""How often a waiting user also asks the hub whether their server is still starting."""
_STAMP = re.compile(r"^\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) ")
_SERVER_URL = re.compile(r"ServerApp\] http://[^/]+/user/([^/]+)/")


def isolation_section(mode: str, memory_gb: float, cpus: float = 1.0) -> dict[str, Any]:
    return {"mode": mode, "account_prefix": ACCOUNT_PREFIX, "uid_min": UID_MIN, "uid_max": UID_MAX,
            "default_memory_gb": memory_gb, "default_cpu": cpus}


def start_stack(base: Path, mode: str, memory_gb: float,
                users: list[dict[str, Any]] | None = None, cpus: float = 1.0) -> Stack:
    """A running `notebooks up` with `isolation.mode = mode` (the caller stops it)."""
    stack = make_stack(base, f"stack-{mode}", users=users,
                       sections={"isolation": isolation_section(mode, memory_gb, cpus),
                                 "service": {"auth_refresh_age": 300},
                                 "dev_idp": {"access_token_lifetime": 3600}})
    stack.start()
    return stack


def login(stack: Stack, username: str) -> str:
    """A hub API token of `username`, from a browser-style login at the development IdP."""
    browser, _ = browser_login(stack, username)
    try:
        return hub_token(browser, stack, username)
    finally:
        browser.close()


def login_all(stack: Stack, usernames: list[str], workers: int = 4) -> dict[str, str]:
    """Tokens of many users, logged in a few at a time (each login is a handful of requests)."""
    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(usernames, pool.map(lambda name: login(stack, name), usernames), strict=True))


async def spawn_and_wait(client: httpx.AsyncClient, stack: Stack, username: str, token: str,
                         path: str, interval: float, timeout: float) -> float:
    """Seconds from the POST that starts `username`'s server until `/user/<name>/<path>` answers 200
    through the proxy. Before that the proxy sends the request to the hub, which answers with a
    redirect or an error, never 200."""
    headers = {"Authorization": f"token {token}"}
    began = time.monotonic()
    response = await client.post(f"{stack.hub_url}/hub/api/users/{username}/server", headers=headers)
    if response.status_code not in (201, 202):
        raise RuntimeError(f"start of {username}'s server refused: {response.status_code} "
                           f"{response.text[:300]}")
    url, user_url = f"{stack.hub_url}/user/{username}/{path}", f"{stack.hub_url}/hub/api/users/{username}"
    next_check = began + HUB_CHECK_INTERVAL
    while time.monotonic() - began < timeout:
        try:
            if (await client.get(url, headers=headers)).status_code == 200:
                return time.monotonic() - began
            if time.monotonic() > next_check:  # a server the hub gave up on never answers
                next_check += HUB_CHECK_INTERVAL
                if "" not in (await client.get(user_url, headers=headers)).json()["servers"]:
                    raise RuntimeError(f"the hub gave up on {username}'s server after "
                                       f"{time.monotonic() - began:.0f} s (its log says why)")
        except httpx.TransportError:
            pass
        await asyncio.sleep(interval)
    raise TimeoutError(f"{username}'s server did not answer {path} within {timeout:g} s")


async def stop_servers(stack: Stack, tokens: dict[str, str], timeout: float = 120) -> None:
    """Stop the given users' servers and wait until the hub lists none of them."""
    async with httpx.AsyncClient(timeout=60) as client:
        async def stop(username: str, token: str) -> None:
            headers = {"Authorization": f"token {token}"}
            user_url = f"{stack.hub_url}/hub/api/users/{username}"
            await client.delete(f"{user_url}/server", headers=headers)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if "" not in (await client.get(user_url, headers=headers)).json()["servers"]:
                    return
                await asyncio.sleep(0.25)
            raise TimeoutError(f"{username}'s server did not stop within {timeout:g} s")

        await asyncio.gather(*(stop(name, token) for name, token in tokens.items()))


def hub_start_times(stack: Stack, log_offset: int) -> dict[str, list[float]]:
    """The hub's own spawn durations ("User x took N seconds to start": spawner start until the
    server's HTTP answers, before the proxy route) logged after `log_offset`, per user."""
    found: dict[str, list[float]] = {}
    for name, seconds in HUB_START_LINE.findall(stack.log()[log_offset:]):
        found.setdefault(name, []).append(float(seconds))
    return found


def hub_notice_gaps(stack: Stack, log_offset: int) -> dict[str, list[float]]:
    """Per user, seconds from the server's own "Jupyter Server ... is running at" until the hub's
    "took N seconds to start": how late the hub's exponential-backoff HTTP check noticed a server
    that was already up (JupyterHub's `wait_for_http_server`, waits drawn up to 0.2, 0.4 ... 5 s)."""
    up: dict[str, datetime] = {}
    gaps: dict[str, list[float]] = {}
    for line in stack.log()[log_offset:].splitlines():
        stamp = _STAMP.match(line)
        if not stamp:
            continue
        when = datetime.fromisoformat(stamp.group(1))
        if server := _SERVER_URL.search(line):
            up.setdefault(server.group(1), when)
        elif (took := HUB_START_LINE.search(line)) and took.group(1) in up:
            gaps.setdefault(took.group(1), []).append(
                (when - up.pop(took.group(1))).total_seconds())
    return gaps


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def machine_facts() -> str:
    """One line on the machine and how loaded it is now (the benchmarks share it with test runs)."""
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemAvailable:"))
    return (f"{os.cpu_count()} CPUs, load average {load}, {int(memory) // 1024} MiB available, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")


def remove_accounts() -> list[str]:
    """Delete the system accounts (and their groups) the benchmark's stacks created."""
    removed = []
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(ACCOUNT_PREFIX) and UID_MIN <= entry.pw_uid <= UID_MAX:
            subprocess.run(["userdel", entry.pw_name], check=False, capture_output=True)
            subprocess.run(["groupdel", entry.pw_name], check=False, capture_output=True)
            removed.append(entry.pw_name)
    return removed
