"""The credits service's HTTP side on the real stack: request bodies, a database that is slow to
answer, the CSV export of a long history, and hostile names on the page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from notebooks_service.services.credits.ledger import NewEntry, post
from tests.credits.helpers import User, credits_service_pid, ledger_of
from tests.stack import Stack

GOOD = {"kind": "grant", "amount": 1, "reason": "valid"}
BAD_BODIES = [
    ('{"kind": "grant", "amount": NaN, "reason": "x"}', "amount"),
    ('{"kind": "adjustment", "amount": NaN, "reason": "x"}', "amount"),
    ('{"kind": "grant", "amount": Infinity, "reason": "x"}', "amount"),
    ('{"kind": "adjustment", "amount": -Infinity, "reason": "x"}', "amount"),
    ('{"kind": "grant", "amount": -1, "reason": "x"}', "positive"),
    ('{"kind": "refund", "amount": 0, "reason": "x"}', "positive"),
    ('{"kind": "adjustment", "amount": 0, "reason": "x"}', "changes nothing"),
    ('{"kind": "grant", "amount": "10", "reason": "x"}', "amount"),
    ('{"kind": "grant", "amount": true, "reason": "x"}', "amount"),
    ('{"kind": "grant", "amount": [1], "reason": "x"}', "amount"),
    ('{"kind": "grant", "amount": 1e300, "reason": "x"}', "amount"),
    ('{"kind": "grant", "amount": 1, "reason": "x", "wallet": "user:admin"}', "wallet"),
    ('{"kind": "charge", "amount": -1, "reason": "x"}', "kind"),
    ('{"kind": "grant", "amount": 1, "reason": 5}', "reason"),
    ('{"kind": "grant", "amount": 1, "reason": "   "}', "reason"),
    ('{"kind": "grant", "amount": 1}', "reason"),
    ('{"kind": "grant", "amount": 1, "reason": "x", "expires_in_days": NaN}', "expires_in_days"),
    ('{"kind": "grant", "amount": 1, "reason": "x", "expires_in_days": -3}', "expires_in_days"),
    ('{"kind": "adjustment", "amount": 1, "reason": "x", "expires_in_days": 3}', "grants only"),
    ("[1, 2]", "JSON object"),
    ("not json", "JSON object"),
    ("", "JSON object"),
]


@pytest.mark.parametrize(("body", "names"), BAD_BODIES, ids=[b for b, _ in BAD_BODIES])
def test_bad_entry_bodies_get_a_400_that_names_the_problem(credits_stack: Stack, body: str, names: str
                                                           ) -> None:
    admin = User(credits_stack, "admin")
    before = admin.history("user:frank")
    response = admin.credits.post("api/wallets/user:frank/entries", content=body,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["status"] == 400 and names in answer["message"], answer
    assert admin.history("user:frank") == before


def test_a_valid_entry_is_posted(credits_stack: Stack) -> None:
    admin = User(credits_stack, "admin")
    response = admin.credits.post("api/wallets/user:frank/entries", json={**GOOD, "amount": 2.5})
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 2.5 and admin.history("user:frank")[0]["reason"] == "valid"


@contextmanager
def ledger_locked(stack: Stack, seconds: float) -> Iterator[None]:
    """Hold a lock that makes every write to the ledger wait, released after `seconds`."""
    ledger = ledger_of(stack)
    connection = ledger.engine.connect()
    if ledger.engine.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN EXCLUSIVE")
    else:
        connection.begin()
        connection.execute(text("LOCK TABLE wallets IN ACCESS EXCLUSIVE MODE"))
    release = threading.Timer(seconds, lambda: (connection.rollback(), connection.close()))
    release.start()
    try:
        yield
    finally:
        release.join()
        ledger.close()


def test_requests_are_served_while_the_ledger_makes_a_write_wait(credits_stack: Stack) -> None:
    """An admin's POST waits 3 s for a locked ledger; meanwhile a metrics scrape (no database)
    answers at once: the handler waits in the thread pool, not on the event loop."""
    admin = User(credits_stack, "admin")
    admin.credits.get("metrics")  # the admin's identity is cached: the probe needs no hub call
    results: dict[str, float | int] = {}

    def write() -> None:
        started = time.monotonic()
        response = admin.credits.post("api/wallets/user:frank/entries",
                                      json={**GOOD, "reason": "waits for the lock"})
        results["status"], results["write"] = response.status_code, time.monotonic() - started

    with ledger_locked(credits_stack, seconds=3):
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)  # the write is waiting on the lock
        started = time.monotonic()
        assert admin.credits.get("metrics").status_code == 200
        results["probe"] = time.monotonic() - started
        writer.join(30)
    print(f"metrics answered in {results['probe']:.3f} s while a write waited {results['write']:.1f} s")
    assert results["status"] == 201, results
    assert results["write"] >= 2, results  # it did wait for the lock
    assert results["probe"] < 1, results


def peak_rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of `pid` in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


ARCHIVE_ROWS = 200_000


def test_csv_export_of_200000_entries_streams_in_flat_memory(credits_stack: Stack) -> None:
    admin = User(credits_stack, "admin")
    wallet = "user:archive"
    start = datetime.now(UTC) - timedelta(days=1)
    ledger = ledger_of(credits_stack)
    with ledger.session.begin() as session:
        post(session, [NewEntry(time=start + timedelta(milliseconds=i), wallet=wallet, kind="adjustment",
                                amount=1, actor="test", reason=f"row {i}") for i in range(ARCHIVE_ROWS)])
    ledger.close()
    pid = credits_service_pid(credits_stack)
    assert pid is not None
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak to the current RSS
    rss_before, _ = peak_rss(pid)

    lines, last = 0, b""
    started = time.monotonic()
    with admin.credits.stream("GET", "api/history.csv", params={"wallet": wallet}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        for line in response.iter_lines():
            if lines == 1:
                assert line.split(",")[2:6] == [wallet, "adjustment", "1e-06", "test"]
            lines += 1
            last = line.encode()
    seconds = time.monotonic() - started
    _, peak = peak_rss(pid)
    growth = (peak - rss_before) / 1024
    print(f"CSV export of {ARCHIVE_ROWS} entries: {seconds:.1f} s, service peak RSS "
          f"{rss_before / 1024:.1f} -> {peak / 1024:.1f} MiB (+{growth:.1f} MiB)")
    assert lines == ARCHIVE_ROWS + 1
    assert f"row {ARCHIVE_ROWS - 1}".encode() in last  # oldest first, all of them
    assert growth < 25, growth


HOSTILE = "<script>alert(1)</script>"


def test_hostile_wallet_names_and_reasons_are_escaped_on_the_page(credits_stack: Stack) -> None:
    admin = User(credits_stack, "admin")
    wallet = f"group:{HOSTILE}"
    posted = admin.credits.post(f"api/wallets/{quote(wallet, safe=':')}/entries",
                                json={**GOOD, "reason": '<img src=x onerror="alert(2)">'})
    assert posted.status_code == 201, posted.text
    page = admin.credits.get("", params={"wallet": wallet})
    assert page.status_code == 200, page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "group:&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=" in page.text
