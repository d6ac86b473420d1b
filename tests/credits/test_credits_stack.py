"""Credits on the real service (`notebooks up`), once with SQLite and once with PostgreSQL.

Prices are high and intervals short (see `stack_config`): the small profile costs 0.02 credits per
second, researchers get 5 credits, posting happens every 2 s, the grace period is 4 s.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from notebooks_service.services.credits.ledger import to_credits, verify
from notebooks_service.services.credits.models import Entry
from tests.credits.helpers import (
    User,
    alive,
    credits_processes,
    credits_service_pid,
    ledger_of,
    scrape,
    start_with,
)
from tests.credits.stack_config import HOW_TO_GET_MORE
from tests.stack import Stack, stop_server, wait_until

INTERVAL = 2
PER_SECOND = 72 / 3600


def server_environment(stack: Stack, user: str) -> dict[str, str]:
    """The environment of `user`'s running jupyterhub-singleuser process on this stack's hub: other
    stacks on the machine (other tests, servers kept after a hub crash) run the same demo users."""
    runtime = json.loads((stack.data_dir / "run" / "runtime.json").read_text())
    hub_api = f"http://127.0.0.1:{runtime['hub_api_port']}/"
    for proc in Path("/proc").iterdir():
        try:
            if b"jupyterhub-singleuser" not in (proc / "cmdline").read_bytes():
                continue
            pairs = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        env = dict(p.decode().split("=", 1) for p in pairs if b"=" in p)
        if env.get("JUPYTERHUB_USER") == user and env.get("JUPYTERHUB_API_URL", "").startswith(hub_api):
            return env
    raise AssertionError(f"no server process for {user} on this stack")


def test_admission_refused_with_balance_price_and_help_then_accepted(credits_stack: Stack) -> None:
    dave = User(credits_stack, "dave")
    refused = dave.hub.post("/users/dave/server", json={"profile": "large"})
    assert refused.status_code == 402, refused.text
    message = refused.json()["message"]
    assert "holds 5.00 credits" in message and "720" in message and HOW_TO_GET_MORE in message

    form = dave.browser.get(f"{credits_stack.hub_url}/hub/spawn")
    assert "Credits per hour" in form.text and 'value="large"' in form.text and "user:dave: 5.00" in form.text
    xsrf = dave.browser.cookies.get("_xsrf", path="/hub/") or ""
    posted = dave.browser.post(f"{credits_stack.hub_url}/hub/spawn", params={"_xsrf": xsrf},
                               data={"profile": "large", "wallet": "user:dave", "_xsrf": xsrf})
    assert posted.status_code == 402
    assert "Not enough credits" in posted.text and HOW_TO_GET_MORE in posted.text

    not_allowed = dave.hub.post("/users/dave/server", json={"wallet": "group:proj"})
    assert not_allowed.status_code >= 400  # dave is not in proj

    start_with(dave, {"profile": "small"})  # fits (an empty body would reuse the last options)
    env = server_environment(credits_stack, "dave")
    assert (env["MEM_LIMIT"], env["CPU_LIMIT"], env["NOTEBOOKS_PROFILE"]) == (str(1024**3), "1", "small")
    stop_server(dave.hub, "dave")


def test_charges_match_ready_time_and_sum_to_the_balance(credits_stack: Stack) -> None:
    alice = User(credits_stack, "alice")
    before = alice.balance("user:alice")
    start_with(alice, {"profile": "small"})
    ready_at = time.monotonic()
    time.sleep(8)
    ready_for = time.monotonic() - ready_at
    stop_server(alice.hub, "alice")
    time.sleep(INTERVAL * 2)
    charges = [e for e in alice.history("user:alice") if e["kind"] == "charge"]
    charged = sum(e["seconds"] for e in charges)
    # The first cycle to see the server ready starts the clock, the last one to see it stops it.
    assert ready_for - 2 * INTERVAL - 1 <= charged <= ready_for + 1, (charged, ready_for)
    assert {e["server"] for e in charges} == {"alice/"} and {e["profile"] for e in charges} == {"small"}
    after = alice.balance("user:alice")
    assert after == pytest.approx(before - charged * PER_SECOND, abs=1e-4)
    assert sum(e["amount"] for e in alice.history("user:alice")) == pytest.approx(after, abs=1e-6)


STOPPED = 'credits_servers_stopped_total{zone=""}'
"""The stop counter of a hub that is not a zone."""


def test_warned_then_stopped_at_zero_after_grace_home_kept(credits_stack: Stack) -> None:
    admin, bob = User(credits_stack, "admin"), User(credits_stack, "bob")
    bob.status()  # bob's grant is posted when he is first looked at
    no_reason = admin.credits.post("api/wallets/user:bob/entries", json={"kind": "adjustment", "amount": -4})
    assert no_reason.status_code == 400
    not_admin = bob.credits.post("api/wallets/user:bob/entries",
                                 json={"kind": "grant", "amount": 100, "reason": "me"})
    assert not_admin.status_code == 403
    taken = admin.credits.post("api/wallets/user:bob/entries",
                               json={"kind": "adjustment", "amount": -4.2, "reason": "test: leave 0.8"})
    assert taken.status_code == 201, taken.text
    assert bob.balance("user:bob") == pytest.approx(0.8)  # 40 s of the small profile

    stopped_before = scrape(admin.credits)[STOPPED]
    start_with(bob, {"profile": "small"})
    warned = wait_until(lambda: bob.status()["warning"], 20, what="a runway warning")
    assert "user:bob" in warned
    wallet = next(w for w in bob.status()["wallets"] if w["wallet"] == "user:bob")
    assert wallet["warning_threshold"] in (35, 15) and wallet["runway_seconds"] <= 35
    wait_until(lambda: 'id="credits-warning"' in bob.browser.get(f"{credits_stack.hub_url}/hub/home").text,
               3 * INTERVAL, what="the warning on hub pages")  # read once per interval, off the page path

    started = time.monotonic()
    wait_until(lambda: "" not in bob.hub.get("/users/bob").json()["servers"], 90,
               what="bob's server to be stopped at zero")
    assert time.monotonic() - started >= 4  # not before the grace period
    assert bob.balance("user:bob") <= 0
    assert scrape(admin.credits)[STOPPED] == stopped_before + 1
    assert credits_stack.home("bob").is_dir()
    refused = bob.hub.post("/users/bob/server", json={"profile": "small"})
    assert refused.status_code == 402


def test_project_wallet_shared_by_two_members(credits_stack: Stack) -> None:
    alice, bob = User(credits_stack, "alice"), User(credits_stack, "bob")
    assert [w["wallet"] for w in alice.status()["wallets"]] == ["user:alice", "group:proj"]
    for member in (alice, bob):
        start_with(member, {"wallet": "group:proj"})
    time.sleep(3 * INTERVAL)
    shared = bob.status()["wallets"][1]
    assert shared["wallet"] == "group:proj" and len(shared["servers"]) == 2
    for member in (alice, bob):
        stop_server(member.hub, member.name)
    servers = {e["server"] for e in alice.history("group:proj") if e["kind"] == "charge"}
    assert servers == {"alice/", "bob/"}


def test_expiry_takes_the_oldest_grant_first(credits_stack: Stack) -> None:
    admin = User(credits_stack, "admin")
    wallet = "user:erin"
    for body in ({"kind": "grant", "amount": 2, "reason": "short-lived", "expires_in_days": 3 / 86400},
                 {"kind": "grant", "amount": 3, "reason": "long-lived"},
                 {"kind": "adjustment", "amount": -1.5, "reason": "spent"}):
        assert admin.credits.post(f"api/wallets/{wallet}/entries", json=body).status_code == 201
    expiries = wait_until(lambda: [e for e in admin.history(wallet) if e["kind"] == "expiry"], 20,
                          what="the short grant to expire")
    assert [e["amount"] for e in expiries] == [-0.5]
    assert sum(e["amount"] for e in admin.history(wallet)) == pytest.approx(3)


def assert_charged_without_gaps(stack: Stack, server: str, at_least: float) -> None:
    """The ledger verifies, and the charges of the server's latest start tile its ready time (each
    begins where the previous one ended) over at least `at_least` seconds: none lost, none twice."""
    ledger = ledger_of(stack)
    with ledger.session() as session:
        assert verify(session) == {}
        charges = session.scalars(select(Entry).where(Entry.server == server, Entry.kind == "charge")
                                  .order_by(Entry.time)).all()
    ledger.close()

    def start_of(entry: Entry) -> str:
        return (entry.key or "").rsplit(":", 1)[0]  # charge:<server start>:<interval>

    latest = [c for c in charges if start_of(c) == start_of(charges[-1])]
    for previous, current in pairwise(latest):
        begins = current.time.timestamp() - current.seconds
        assert begins == pytest.approx(previous.time.timestamp(), abs=1e-3), (previous.key, current.key)
    covered = latest[-1].time - latest[0].time
    assert covered.total_seconds() + latest[0].seconds >= at_least
    assert latest[-1].time <= datetime.now(UTC)


def kill_mid_cycle(stack: Stack) -> None:
    """SIGKILL the credits service just after a cycle starts (cycles start on interval boundaries)."""
    pid = credits_service_pid(stack)
    assert pid is not None
    time.sleep(INTERVAL - time.time() % INTERVAL + 0.02)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), 10, what="the killed service to go")
    wait_until(lambda: credits_service_pid(stack) not in (None, pid), 60, interval=1,
               what="the hub to restart the credits service")


def test_kill_9_mid_cycle_loses_and_doubles_nothing(credits_stack: Stack) -> None:
    alice = User(credits_stack, "alice")
    admin = User(credits_stack, "admin")
    admin.credits.post("api/wallets/user:alice/entries",
                       json={"kind": "grant", "amount": 10, "reason": "for the crash test"})
    start_with(alice, {"profile": "small"})
    time.sleep(3 * INTERVAL)
    for _ in range(2):
        kill_mid_cycle(credits_stack)
    time.sleep(3 * INTERVAL)
    stop_server(alice.hub, "alice")
    assert_charged_without_gaps(credits_stack, "alice/", at_least=30)  # the kills' downtime too


def spent_in_ledger(stack: Stack, profile: str) -> float:
    ledger = ledger_of(stack)
    with ledger.session() as session:
        micro = session.scalar(select(func.coalesce(func.sum(Entry.amount), 0))
                               .where(Entry.kind == "charge", Entry.profile == profile))
    ledger.close()
    return -to_credits(int(micro))


def test_metrics_for_admins_count_spending_by_profile_and_cycles(credits_stack: Stack) -> None:
    alice, admin = User(credits_stack, "alice"), User(credits_stack, "admin")
    assert httpx.get(f"{credits_stack.hub_url}/services/credits/metrics").status_code == 403
    assert alice.credits.get("metrics").status_code == 403
    # The documented scrape set-up: an admin's token limited to reaching the service, as a bearer.
    created = admin.hub.post("/users/admin/tokens", json={
        "note": "prometheus", "scopes": ["access:services!service=credits"]})
    assert created.status_code == 201, created.text
    prometheus = httpx.Client(base_url=f"{credits_stack.hub_url}/services/credits/", timeout=30,
                              headers={"Authorization": f"Bearer {created.json()['token']}"})

    spent = 'credits_spent_total{profile="small",zone=""}'  # a hub that is not a zone
    before, ledger_before, started = scrape(prometheus), spent_in_ledger(credits_stack, "small"), time.time()
    start_with(alice, {"profile": "small"})  # no other server runs, so only this one is charged
    time.sleep(3 * INTERVAL)
    stop_server(alice.hub, "alice")
    time.sleep(2 * INTERVAL)  # the last cycle that saw it ready has posted
    after, elapsed = scrape(prometheus), time.time() - started

    charged = spent_in_ledger(credits_stack, "small") - ledger_before
    assert charged > 0
    assert after[spent] - before.get(spent, 0.0) == pytest.approx(charged, abs=1e-4)
    count = 'credits_cycle_duration_seconds_count{zone=""}'
    total = 'credits_cycle_duration_seconds_sum{zone=""}'
    cycles = after[count] - before[count]
    assert elapsed / INTERVAL - 2 <= cycles <= elapsed / INTERVAL + 1
    assert 0 < after[total] / after[count] < 1
    failures = 'credits_cycle_failures_total{zone=""}'
    assert after[failures] == before[failures]


def test_hub_killed_leaves_one_accounting_process_and_charging_goes_on(credits_stack: Stack) -> None:
    alice, admin = User(credits_stack, "alice"), User(credits_stack, "admin")
    granted = admin.credits.post("api/wallets/user:alice/entries",
                                 json={"kind": "grant", "amount": 10, "reason": "for the hub crash test"})
    assert granted.status_code == 201, granted.text
    start_with(alice, {"profile": "small"})
    ready_at = time.monotonic()
    old_service, old_hub = credits_service_pid(credits_stack), credits_stack.pids()["JupyterHub"]
    assert old_service is not None
    time.sleep(2 * INTERVAL)

    os.kill(old_hub, signal.SIGKILL)
    wait_until(lambda: not alive(old_service), 10, what="the accounting process to die with its hub")

    def restarted() -> int | None:
        try:
            hub_is_new = credits_stack.pids()["JupyterHub"] != old_hub
            return credits_service_pid(credits_stack) if hub_is_new else None
        except (OSError, KeyError, ValueError):  # pids.json being rewritten
            return None

    new_service = wait_until(restarted, 120, what="the restarted hub to start the credits service")
    time.sleep(3 * INTERVAL)
    assert list(credits_processes(credits_stack)) == [new_service]
    ready_for = time.monotonic() - ready_at
    stop_server(alice.hub, "alice")
    # Ready time is charged across the restart, as in the charging test: within an interval at each end.
    assert_charged_without_gaps(credits_stack, "alice/", at_least=ready_for - 2 * INTERVAL - 1)


def test_ledger_sums_equal_balances(credits_stack: Stack) -> None:
    ledger = ledger_of(credits_stack)
    with ledger.session() as session:
        assert verify(session) == {}
    ledger.close()
    for name in ("alice", "bob", "dave"):
        user = User(credits_stack, name)
        for wallet in user.status()["wallets"]:
            total = sum(e["amount"] for e in user.history(wallet["wallet"]))
            assert total == pytest.approx(wallet["balance"], abs=1e-6)
