"""The credits page's pieces that the browser test cannot pin down: chart scale, short runways."""

from __future__ import annotations

import re
from datetime import date

from notebooks_service.services.credits.page import usage_chart
from notebooks_service.services.credits.status import format_duration

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
