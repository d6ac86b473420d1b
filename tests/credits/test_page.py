"""The credits page's pieces that the browser test cannot pin down: chart scale, short runways,
and escaping of names that come from users and operators (page, chart, spawn form, refusal)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from notebooks_service.services.credits.config import CreditsSection, Profile
from notebooks_service.services.credits.hubconf import bind_section
from notebooks_service.services.credits.models import Entry
from notebooks_service.services.credits.page import render_page, usage_chart
from notebooks_service.services.credits.spawn import CreditsRefused
from notebooks_service.services.credits.status import WalletStatus, format_duration

TODAY = date(2025, 6, 30)


def test_chart_stacks_profiles_per_day_on_a_labelled_scale() -> None:
    svg = usage_chart([("2025-06-29", "small", 1_000_000), ("2025-06-30", "small", 500_000),
                       ("2025-06-30", "large", 1_500_000), ("2025-05-01", "large", 9_000_000)], TODAY)
    bars = re.findall(r'<rect[^>]*height="(\d+)"[^>]*><title>([^<]*)</title>', svg)
    assert sorted(title for _, title in bars) == [
        "2025-06-29 small: 1.00", "2025-06-30 large: 1.50", "2025-06-30 small: 0.50"]  # May is out
    heights = {title.split(":")[0]: int(h) for h, title in bars}
    assert heights["2025-06-30 large"] + heights["2025-06-30 small"] == 2 * heights["2025-06-29 small"]
    assert ">2.00</text>" in svg and ">1.00</text>" in svg and ">0.00</text>" in svg  # the day's top
    assert "No credits spent" not in svg


def test_empty_chart_says_so() -> None:
    svg = usage_chart([], TODAY, days=7)
    assert "No credits spent in the last 7 days" in svg and "<title>" not in svg


def test_runways_under_a_minute_show_seconds() -> None:
    assert [format_duration(s) for s in (25.7, 59, 60, 7200)] == ["25 s", "59 s", "1 min", "2 h 0 min"]


HOSTILE = "<script>alert(1)</script>"


def test_hostile_names_are_escaped_on_the_page_and_in_the_chart() -> None:
    status = WalletStatus(wallet=f"group:{HOSTILE}", balance=1_000_000, spending=2_000_000,
                          servers=((f"bob/{HOSTILE}", HOSTILE, 2.0, "eu-2"),), unlimited=False,
                          thresholds=(900,))
    entry = Entry(id=1, time=datetime(2025, 6, 30, tzinfo=UTC), wallet=status.wallet, kind="grant",
                  amount=1_000_000, actor=HOSTILE, reason=HOSTILE, server="", profile=HOSTILE)
    html = render_page(user=HOSTILE, prefix="/services/credits/", hub_home="/hub/home", statuses=[status],
                       warning=HOSTILE, usage=[("2025-06-30", HOSTILE, 1_000_000)], today=TODAY,
                       entries=[entry], total=1, offset=0, limit=50, how_to_get_more=HOSTILE)
    assert "<script>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # user, warning, wallet (twice), server and profile, chart title and legend, history (4), help
    assert html.count(escaped) >= 10, html
    assert f"{escaped}, eu-2)" in html  # the server's profile, then its zone


def history_page(entries: list[Entry]) -> str:
    return render_page(user="alice", prefix="/services/credits/", hub_home="/hub/home", statuses=[],
                       warning="", usage=[], today=TODAY, entries=entries, total=len(entries), offset=0,
                       limit=50, how_to_get_more="")


def test_the_history_names_the_zone_only_where_zones_share_the_ledger() -> None:
    def charge(zone: str) -> Entry:
        return Entry(id=1, time=datetime(2025, 6, 30, tzinfo=UTC), wallet="user:alice", kind="charge",
                     amount=-1_000, actor="credits", reason="", server="alice/", profile="small", zone=zone)
    zoned = history_page([charge("eu-2"), charge("")])
    assert "<th>Zone</th>" in zoned and '<td class="zone">eu-2</td>' in zoned
    assert '<td class="zone"></td>' in zoned, "a wallet-wide entry has no zone"
    assert "<th>Zone</th>" not in history_page([charge("")])


def test_hostile_profile_names_are_escaped_on_the_spawn_form(tmp_path: Path) -> None:
    settings = CreditsSection(enabled=True, profiles={
        HOSTILE: Profile(description='"><img src=x onerror=alert(2)>', price_per_hour=1)})
    section = bind_section(settings, f"sqlite:///{tmp_path / 'credits.sqlite'}")
    spawner = SimpleNamespace(user=SimpleNamespace(name="alice", groups=[]))
    try:
        form = asyncio.run(section().form_html(spawner))
        with pytest.raises(CreditsRefused) as refused:
            section().validate(spawner, {"profile": HOSTILE})
    finally:
        section.ledger().close()
    for html in (form, refused.value.jupyterhub_html_message):
        assert "<script>" not in html and "<img" not in html, html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in form
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.value.jupyterhub_html_message
