"""`notebooks servers` end to end, as a user runs it: a real zone (`notebooks up` with `[zone]` and
credits), a real access token from the development IdP, the command as a process."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.credits.stack_config import USERS, credits_sections
from tests.stack import DEMO_PASSWORD, Stack, command_env, make_stack, notebooks_command, wait_until

pytestmark = pytest.mark.real_stack  # the module's fixture runs `notebooks up`

log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Zone eu-1 with credits on (SQLite ledger) and no other zone. Its `small` profile has 2 GiB
    instead of 1: on this shared machine a server with every extension loading was OOM-killed in
    1 GiB once (the kernel's log named the server's memory cgroup), which is not what this tests."""
    sections = {**credits_sections(), "zone": {"name": "eu-1", "display_name": "EU 1"}}
    sections["credits.profiles.small"] = {**sections["credits.profiles.small"], "memory_gb": 2}
    stack = make_stack(tmp_path_factory.mktemp("client"), "eu-1", sections=sections, users=USERS)
    stack.start()

    def serving() -> bool:
        return (httpx.get(f"{stack.hub_url}/services/zones/").status_code == 200
                and httpx.get(f"{stack.hub_url}/services/jwt/").status_code == 401
                and httpx.get(f"{stack.hub_url}/services/credits/api/status").status_code == 403)
    try:
        wait_until(serving, 60, 0.25, "the zone directory, JWT API and credits service")
    except AssertionError as exc:
        stack.stop()
        raise AssertionError(f"{exc}; the end of the service's log:\n{stack.log()[-6000:]}") from None
    yield stack
    stack.stop()


def access_token(stack: Stack, user: str) -> str:
    result = subprocess.run(
        notebooks_command("token", "--user", user, "--password", DEMO_PASSWORD,
                          "--data-dir", str(stack.data_dir)),
        capture_output=True, text=True, timeout=60, env=command_env(), check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def servers(stack: Stack, token: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`notebooks servers <argv>` with the token in $OIDC_ACCESS_TOKEN, timed in the log."""
    env = {**command_env(), "OIDC_ACCESS_TOKEN": token}
    env.pop("NOTEBOOKS_URL", None)
    started = time.monotonic()
    result = subprocess.run(notebooks_command("servers", *argv, "--hub", stack.hub_url),
                            capture_output=True, text=True, timeout=180, env=env, check=False)
    log.info("notebooks servers %s: exit %d in %.2f s", " ".join(argv), result.returncode,
             time.monotonic() - started)
    return result


def listing(stack: Stack, token: str) -> dict[str, Any]:
    result = servers(stack, token, "list", "--json")
    assert result.returncode == 0, result.stderr
    [eu1] = json.loads(result.stdout)["zones"]
    assert (eu1["zone"], eu1["status"], eu1["user"]) == ("eu-1", "up", "alice")
    return dict(eu1)


def test_list_start_credits_stop(zone: Stack) -> None:
    token = access_token(zone, "alice")
    assert listing(zone, token)["servers"] == []

    started = servers(zone, token, "start", "--zone", "eu-1", "--profile", "small")
    assert started.returncode == 0, started.stderr
    server_url = f"{zone.hub_url}/user/alice/"
    assert started.stdout.splitlines()[-2:] == ["[100%] Server ready at /user/alice/",
                                                 f"ready: {server_url}"]
    [server] = listing(zone, token)["servers"]
    assert (server["name"], server["ready"], server["profile"], server["url"]) == \
        ("", True, "small", server_url)
    table = servers(zone, token, "list").stdout.splitlines()
    assert table[1].split()[:4] == ["eu-1", "(default)", "ready", "small"]

    def credit_wallets() -> dict[str, Any]:
        shown = servers(zone, token, "credits", "--json")
        assert shown.returncode == 0, shown.stderr
        [eu1] = json.loads(shown.stdout)["zones"]
        return {w["wallet"]: w for w in eu1["wallets"]}

    # the credits service counts a server from its next accounting cycle on (every few seconds)
    wallets = wait_until(lambda: (found := credit_wallets())["user:alice"]["servers"] and found, 30,
                         interval=1, what="the credits service to count alice's new server")
    assert set(wallets) == {"user:alice", "group:proj"}
    assert wallets["user:alice"]["spending_per_hour"] == 72
    [paid] = wallets["user:alice"]["servers"]
    assert (paid["server"], paid["profile"], paid["price_per_hour"]) == ("alice/", "small", 72)
    assert 0 < wallets["user:alice"]["balance"] <= 5
    tokens = httpx.get(f"{zone.hub_url}/services/jwt/users/alice/tokens",
                       headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert not [t for t in tokens["api_tokens"] if t["note"].startswith("notebooks servers credits")], \
        "the credits service's hub token was not revoked"

    stopped = servers(zone, token, "stop", "--zone", "eu-1")
    assert (stopped.returncode, stopped.stdout) == (0, "stopped: (default) in eu-1\n"), stopped.stderr
    assert listing(zone, token)["servers"] == []


def test_unknown_zone_and_refused_token(zone: Stack) -> None:
    token = access_token(zone, "alice")
    unknown = servers(zone, token, "start", "--zone", "eu-9")
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr.strip().endswith("unknown zone 'eu-9'; known zones: eu-1")

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = servers(zone, forged, "list")
    assert refused.returncode == 2
    assert f"zone eu-1 ({zone.hub_url}) refused the token (the token is from {zone.issuer})" in \
        refused.stderr
    assert forged not in refused.stderr + refused.stdout
