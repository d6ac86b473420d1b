"""Throughput of `GET /services/jwt/users/<me>` against `GET /hub/api/users/<me>`, both through
the proxy, with several concurrent clients. Prints req/s, p50 and p99 for each path and the ratio.

Without `--url` it starts the real service (`notebooks up`: development IdP, proxy, hub, JWT
service) on free ports with a temporary data dir, takes the token from `notebooks token` and the
hub token from a browser login, and stops it all at the end; with `--url --jwt --hub-token --user`
it measures an existing deployment. `--short` only checks that everything runs (CI), its numbers
mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

log = logging.getLogger("jwt_throughput")
REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
USER = "alice"


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"{self.name:<28} {self.rate:9.1f} req/s   p50 {self.percentile(50):7.2f} ms   "
                f"p99 {self.percentile(99):7.2f} ms   errors {self.errors}")


async def run(name: str, url: str, headers: dict[str, str], clients: int, seconds: float
              ) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.get(url)
                if response.status_code != 200:
                    errors += 1
                latencies.append(time.perf_counter() - start)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return Result(name, len(latencies), errors, time.perf_counter() - begin, latencies)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(base: str, user: str, jwt: str, hub_token: str, clients: int, seconds: float,
                  rounds: int, cpu_of_service: Callable[[], float] | None = None
                  ) -> tuple[Result, Result, float | None]:
    """(direct, jwt, CPU seconds the JWT service spent during the jwt rounds, if measurable)."""
    direct_url, jwt_url = f"{base}/hub/api/users/{user}", f"{base}/services/jwt/users/{user}"
    direct_h, jwt_h = {"Authorization": f"token {hub_token}"}, {"Authorization": f"Bearer {jwt}"}
    await run("warm-up", jwt_url, jwt_h, clients, min(seconds, 1.0))
    await run("warm-up", direct_url, direct_h, clients, min(seconds, 1.0))
    totals = {"direct": Result("direct /hub/api", 0, 0, 0.0, []),
              "jwt": Result("jwt /services/jwt", 0, 0, 0.0, [])}
    service_cpu = 0.0
    for _ in range(rounds):  # alternate to spread any drift over both paths
        for key, url, headers in (("direct", direct_url, direct_h), ("jwt", jwt_url, jwt_h)):
            cpu_before = cpu_of_service() if cpu_of_service and key == "jwt" else 0.0
            r = await run(key, url, headers, clients, seconds)
            if cpu_of_service and key == "jwt":
                service_cpu += cpu_of_service() - cpu_before
            t = totals[key]
            t.requests += r.requests
            t.errors += r.errors
            t.seconds += r.seconds
            t.latencies += r.latencies
    return totals["direct"], totals["jwt"], service_cpu if cpu_of_service else None


def own_stack() -> tuple[str, str, str, str, Callable[[], None], Callable[[], float]]:
    """Start `notebooks up` (test helpers); returns (base, user, jwt, hub token, stop, CPU
    seconds used so far by the JWT service)."""
    sys.path[:0] = [str(REPO), str(TESTS / "oidc"), str(TESTS / "jwt_api")]
    from realstack import oidc_token, wait_for_jwt_route

    from tests.stack import browser_login, hub_token, make_stack

    base = Path(tempfile.mkdtemp(prefix="jwt-bench-"))
    stack = make_stack(base, "stack", sections={  # the defaults, not the tests' short refresh
        "service": {"auth_refresh_age": 60}, "dev_idp": {"access_token_lifetime": 3600}})
    stack.start()

    def stop() -> None:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)

    try:
        wait_for_jwt_route(stack)
        browser, _ = browser_login(stack, USER)
        try:
            direct = hub_token(browser, stack, USER)
        finally:
            browser.close()
        (pid,) = stack.service_processes("notebooks_service.services.jwt")
        return (stack.hub_url, USER, oidc_token(stack, USER), direct, stop,
                lambda: process_cpu_seconds(pid))
    except BaseException:
        stop()
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="per path and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--url", help="public URL of an existing deployment")
    parser.add_argument("--user")
    parser.add_argument("--jwt", help="OIDC access token of --user")
    parser.add_argument("--hub-token", help="hub API token of --user")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.short:
        args.seconds, args.rounds, args.clients = 1.0, 1, 2
    stop, cpu_of_service = None, None
    if args.url:
        if not (args.user and args.jwt and args.hub_token):
            parser.error("--url needs --user, --jwt and --hub-token")
        base, user, jwt, hub_token = args.url.rstrip("/"), args.user, args.jwt, args.hub_token
    else:
        base, user, jwt, hub_token, stop, cpu_of_service = own_stack()
    try:
        direct, via_jwt, service_cpu = asyncio.run(measure(
            base, user, jwt, hub_token, args.clients, args.seconds, args.rounds, cpu_of_service))
    finally:
        if stop:
            stop()
    print(f"{args.clients} concurrent clients, {args.rounds} x {args.seconds:g} s per path")
    print(direct.line())
    print(via_jwt.line())
    ratio = via_jwt.rate / direct.rate if direct.rate else 0.0
    if service_cpu is not None and via_jwt.requests:
        print(f"JWT service CPU: {service_cpu / via_jwt.requests * 1000:.2f} ms per request")
    print(f"ratio jwt/direct: {ratio:.3f} (goal >= 0.9)")
    return 1 if direct.errors or via_jwt.errors else 0


if __name__ == "__main__":
    sys.exit(main())
