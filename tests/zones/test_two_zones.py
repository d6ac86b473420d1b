"""Two zones side by side: one token, one directory with health, one wallet, the user's servers in
every zone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx

from notebooks_service.launcher.token import fetch_token
from tests.isolation.conftest import account_processes
from tests.seeds import REQUESTS_SNIPPET
from tests.stack import (
    DEMO_PASSWORD,
    Stack,
    browser_login,
    command_env,
    hub_api,
    hub_token,
    notebooks_command,
    start_server,
    stop_server,
    wait_until,
)
from tests.zones.conftest import Federation


def seed_snippet(hub_url: str, token: str) -> list[str]:
    """The seeds' requests snippet, with the token it reads from the session's file given here."""
    scope: dict[str, object] = {}
    exec(REQUESTS_SNIPPET.format(hub_url=hub_url).replace(
        'open("/var/run/secrets/oidc/access_token").read()', repr(token)), scope)
    return [user["name"] for user in scope["users"]]  # type: ignore[union-attr]


def test_one_token_works_in_every_zone(federation: Federation) -> None:
    token = federation.token("alice")
    for zone in (federation.eu1, federation.eu2):
        assert seed_snippet(zone.hub_url, token) == ["alice"]
        # the seeds' `curl -H "Authorization: bearer $TOKEN" .../services/jwt`
        version = httpx.get(f"{zone.hub_url}/services/jwt", headers={"Authorization": f"bearer {token}"},
                            timeout=10, follow_redirects=True)
        assert version.status_code == 200 and "version" in version.json(), version.text


def test_a_token_of_another_issuer_is_refused_with_401(federation: Federation, stack: Stack) -> None:
    """The session's own stack has an IdP of its own: its tokens mean nothing in this federation."""
    foreign = fetch_token(stack.data_dir, "alice", DEMO_PASSWORD)
    for zone in (federation.eu1, federation.eu2):
        refused = httpx.get(f"{zone.hub_url}/services/jwt/users",
                            headers={"Authorization": f"Bearer {foreign}"}, timeout=10)
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def checked_directory(hub_url: str, other: str) -> dict[str, dict[str, Any]] | None:
    """A zone's directory by zone name, once every zone has been checked and the `other` running zone
    seen up. eu-1 starts first, so its first checks of eu-2 may find nothing yet; it checks every
    second (`health_interval`)."""
    answer = httpx.get(f"{hub_url}/services/zones/", timeout=10)
    assert answer.status_code == 200, answer.text
    zones = {entry["name"]: entry for entry in answer.json()["zones"]}
    checked = all(entry["health"]["status"] != "unknown" for entry in zones.values())
    return zones if checked and zones[other]["health"]["status"] == "up" else None


def test_a_zone_that_says_it_is_up_describes_itself_at_once(federation: Federation) -> None:
    """`notebooks up` waits for the services the hub runs: a zone checked the moment it is up is up."""
    assert federation.described_at_start == {"eu-1": 200, "eu-2": 200}


def test_every_zone_serves_the_directory_with_health_and_prices(federation: Federation) -> None:
    for here, zone in (("eu-1", federation.eu1), ("eu-2", federation.eu2)):
        other = "eu-2" if here == "eu-1" else "eu-1"
        zones = wait_until(lambda url=zone.hub_url, other=other: checked_directory(url, other), 20,
                           what=f"{here}'s health checks to see {other} up")
        assert list(zones) == ["eu-1", "eu-2", "eu-3"] if here == "eu-1" else ["eu-2", "eu-1", "eu-3"]
        assert zones[here]["self"] is True
        assert zones["eu-3"]["health"]["status"] == "down" and zones["eu-3"]["health"]["error"]
        prices = {p["name"]: p["price_per_hour"] for p in zones[other]["profiles"]}
        assert prices == {"small": 72, "large": 720}
        large = next(p for p in zones[other]["profiles"] if p["name"] == "large")
        assert large["groups"] == ["researchers", "admins"]
        metrics = httpx.get(f"{zone.hub_url}/services/zones/metrics", timeout=10).text
        assert f'zones_peer_up{{peer="{other}",zone="{here}"}} 1.0' in metrics
        assert f'zones_peer_up{{peer="eu-3",zone="{here}"}} 0.0' in metrics


def memory_cgroup(pid: int) -> str:
    """The memory cgroup path of process `pid` (the host's view)."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    return next(line.split(":", 2)[2] for line in lines if "memory" in line.split(":")[1].split(","))


def test_one_wallet_pays_in_both_zones_and_the_zones_page_shows_both_servers(federation: Federation) -> None:
    sessions = {}
    for zone in (federation.eu1, federation.eu2):
        browser, _ = browser_login(zone, "bob")  # eu-2 sends bob to eu-1's IdP, as a real IdP
        sessions[zone.hub_url] = (browser, hub_api(zone, hub_token(browser, zone, "bob")))
    eu1_browser, eu1_api = sessions[federation.eu1.hub_url]
    _, eu2_api = sessions[federation.eu2.hub_url]

    def balance(api: httpx.Client, zone: Stack) -> float:
        status = api.get(f"{zone.hub_url}/services/credits/api/status")
        assert status.status_code == 200, status.text
        return next(w["balance"] for w in status.json()["wallets"] if w["wallet"] == "user:bob")

    granted = balance(eu1_api, federation.eu1)
    start_server(eu1_api, "bob")
    start_server(eu2_api, "bob")
    # one system account runs bob's servers of both zones on this machine, each in its zone's own cgroup:
    # were it one cgroup, the zone stopping its server by force would kill the other zone's too
    groups = {memory_cgroup(pid).rsplit("/", 2)[-2] for pid in account_processes("nb-bob")}
    assert len(groups) == 2 and all(group.startswith("notebooks-") for group in groups), groups
    mine = eu1_browser.get(f"{federation.eu1.hub_url}/services/zones/api/mine")
    assert mine.status_code == 200, mine.text
    found = {entry["zone"]: entry for entry in mine.json()["zones"]}
    assert [s["ready"] for s in found["eu-1"]["servers"]] == [True]
    assert found["eu-2"]["status"] == "ok" and [s["ready"] for s in found["eu-2"]["servers"]] == [True]
    assert found["eu-2"]["servers"][0]["url"].startswith(federation.eu2.hub_url + "/user/bob/")
    assert found["eu-3"]["status"] == "down"
    page = eu1_browser.get(f"{federation.eu1.hub_url}/services/zones/home")
    assert page.status_code == 200 and "EU 2" in page.text and federation.eu2.hub_url in page.text

    # both zones charge the one wallet, and the one history labels each charge with its zone
    def charged_in() -> set[str]:
        history = eu2_api.get(f"{federation.eu2.hub_url}/services/credits/api/history")
        assert history.status_code == 200, history.text
        return {entry["zone"] for entry in history.json()["entries"] if entry["kind"] == "charge"}

    wait_until(lambda: charged_in() == {"eu-1", "eu-2"}, 60, what="charges from both zones")
    assert balance(eu1_api, federation.eu1) < granted
    stop_server(eu1_api, "bob")
    stop_server(eu2_api, "bob")
    wait_until(lambda: balance(eu1_api, federation.eu1) == balance(eu2_api, federation.eu2), 10,
               what="both zones to read one balance")
    home = eu1_browser.get(f"{federation.eu1.hub_url}/hub/home")
    assert 'id="zones-nav"' in home.text and "Zone EU 1" in home.text


def test_the_command_line_client_works_across_the_zones(federation: Federation) -> None:
    env = {**command_env(), "OIDC_ACCESS_TOKEN": federation.token("alice")}
    env.pop("NOTEBOOKS_URL", None)

    def servers(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(notebooks_command("servers", *argv, "--hub", federation.eu1.hub_url),
                              capture_output=True, text=True, timeout=180, env=env, check=False)

    started = servers("start", "--zone", "eu-2", "--profile", "small")
    assert started.returncode == 0, started.stderr
    assert f"ready: {federation.eu2.hub_url}/user/alice/" in started.stdout
    listed = servers("list", "--json")
    assert listed.returncode == 2, "eu-3 does not answer"
    assert "eu-3" in listed.stderr
    zones = {entry["zone"]: entry for entry in json.loads(listed.stdout)["zones"]}
    assert zones["eu-1"]["servers"] == []
    assert [(s["ready"], s["profile"]) for s in zones["eu-2"]["servers"]] == [(True, "small")]
    assert zones["eu-3"]["status"] == "down"
    stopped = servers("stop", "--zone", "eu-2")
    assert stopped.returncode == 0, stopped.stderr
    unknown = servers("stop", "--zone", "us-9")
    assert unknown.returncode == 2 and "eu-1" in unknown.stderr and "eu-2" in unknown.stderr
