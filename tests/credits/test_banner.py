"""The hub's credits warning, which the hub asks for on every page it renders, on real ledgers
(SQLite and PostgreSQL): it comes from a snapshot refreshed in the background, never from a query
on the page path."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event

from notebooks_service.services.credits.config import CreditsSection, GroupGrant, Profile
from notebooks_service.services.credits.hubconf import bind_section, warning_for
from notebooks_service.services.credits.ledger import NewEntry, post, to_micro
from notebooks_service.services.credits.models import RunningServer

PAGES = 200


def hub_user(name: str, *groups: str) -> Any:
    """What the hub passes to template variables: a user with a name, a kind and groups."""
    return SimpleNamespace(name=name, kind="user", groups=[SimpleNamespace(name=g) for g in groups])


def running(user: str, wallet: str, price: float) -> RunningServer:
    now = datetime.now(UTC)
    return RunningServer(server=f"{user}/@{now.isoformat()}", user=user, server_name="", wallet=wallet,
                         profile="small", price=to_micro(price), ready_since=now, charged_until=now)


def test_pages_read_warnings_from_a_snapshot_not_the_ledger(ledger_url: str) -> None:
    settings = CreditsSection(
        enabled=True, posting_interval=1, warning_thresholds=[900, 300], unlimited_users=["oscar"],
        profiles={"small": Profile(price_per_hour=6)},
        grants={"proj": GroupGrant(amount=1, wallet="project")})
    section = bind_section(settings, ledger_url)
    now = datetime.now(UTC)
    with section.ledger().session.begin() as session:  # bob: 5 min left; proj: 10 min; oscar: 1 min
        post(session, [NewEntry(time=now, wallet=w, kind="grant", amount=to_micro(a), reason="test")
                       for w, a in (("user:bob", 0.5), ("group:proj", 1.0), ("user:oscar", 0.1))])
        session.add_all([running("bob", "user:bob", 6), running("carol", "group:proj", 6),
                         running("oscar", "user:oscar", 6)])
    on_page_thread: list[str] = []
    page_thread = threading.get_ident()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == page_thread:  # the background refresh runs in another thread
            on_page_thread.append(statement)

    event.listen(section.ledger().engine, "before_cursor_execute", count)
    bob, alice, oscar = hub_user("bob", "proj"), hub_user("alice", "proj"), hub_user("oscar")

    async def pages() -> tuple[dict[str, str], float]:
        credits_warning = warning_for(section)
        deadline = time.monotonic() + 10
        while not credits_warning(bob) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        on_page_thread.clear()
        started = time.perf_counter()
        for _ in range(PAGES):
            texts = {u.name: credits_warning(u) for u in (bob, alice, oscar)}
        return texts, (time.perf_counter() - started) / (3 * PAGES)

    try:
        texts, per_page = asyncio.run(pages())
    finally:
        event.remove(section.ledger().engine, "before_cursor_execute", count)
        section.ledger().close()
    print(f"credits_warning per page: {per_page * 1e6:.0f} µs, {len(on_page_thread)} ledger statements "
          f"in {3 * PAGES} pages")
    assert on_page_thread == []
    assert "user:bob lasts 5 min" in texts["bob"] and "group:proj lasts 10 min" in texts["bob"]
    assert texts["alice"] == "Credits: wallet group:proj lasts 10 min at current use."
    assert texts["oscar"] == ""  # an unlimited user's own wallet
