"""The credits page: balances, runway, usage per day and profile (inline SVG), and the history.

Plain server-rendered HTML with no external assets, so it works offline and behind strict CSPs.
The markup lives in autoescaped Jinja templates (`templates/service/`): wallet, group, profile and
server names and reasons come from users and operators, and escaping by hand at each f-string is
one forgotten call away from script injection. Python only computes what the templates show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from notebooks_service.services.credits.ledger import to_credits
from notebooks_service.services.credits.models import Entry
from notebooks_service.services.credits.status import WalletStatus, format_duration

COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")

templates = Environment(loader=PackageLoader(__package__, "templates"), autoescape=True,
                        undefined=StrictUndefined, keep_trailing_newline=True)


def credits_text(micro: int) -> str:
    return f"{to_credits(micro):,.2f}"


templates.filters["signed_credits"] = lambda micro: f"{to_credits(micro):+,.4f}"


@dataclass(frozen=True)
class Chart:
    """What `chart.svg` draws: sizes, then gridlines, bars, day ticks and the legend."""

    days: int
    width: int = 840
    height: int = 220
    left: int = 60
    top_margin: int = 20
    gridlines: tuple[dict[str, Any], ...] = ()
    bars: tuple[dict[str, Any], ...] = ()
    ticks: tuple[dict[str, Any], ...] = ()
    legend: tuple[dict[str, Any], ...] = ()


def chart_geometry(rows: Sequence[tuple[str, str, int]], today: date, days: int = 30) -> Chart:
    """Stacked bars of credits spent per day, one colour per profile, for the last `days` days."""
    axis = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    profiles = sorted({profile for _, profile, _ in rows})
    per_day: dict[str, dict[str, int]] = {d: {} for d in axis}
    for day, profile, micro in rows:
        if day in per_day:
            per_day[day][profile] = per_day[day].get(profile, 0) + micro
    frame = Chart(days=days)
    top = max((sum(v.values()) for v in per_day.values()), default=0) or 1
    bar, scale = frame.width // days, (frame.height - frame.top_margin) / top
    gridlines = []
    for fraction in (0, 0.5, 1) if profiles else (0,):  # gridlines with their values
        gridlines.append({"y": round(frame.height - fraction * top * scale),
                          "stroke": "#999" if fraction == 0 else "#e3e3e3",
                          "label": f"{to_credits(round(fraction * top)):.2f}"})
    bars, ticks = [], []
    for i, day in enumerate(axis):
        y = frame.height
        for profile in profiles:
            micro = per_day[day].get(profile, 0)
            if not micro:
                continue
            h = max(1, round(micro * scale))
            y -= h
            bars.append({"x": frame.left + i * bar + 3, "y": y, "width": bar - 6, "height": h,
                         "color": COLORS[profiles.index(profile) % len(COLORS)], "day": day,
                         "profile": profile, "credits": f"{to_credits(micro):.2f}"})
        if i % 5 == 0 or i == days - 1:
            ticks.append({"x": frame.left + i * bar + bar // 2, "label": day[5:]})
    legend = [{"x": frame.left + j * 130, "color": COLORS[j % len(COLORS)], "profile": profile}
              for j, profile in enumerate(profiles)]
    return Chart(days=days, gridlines=tuple(gridlines), bars=tuple(bars), ticks=tuple(ticks),
                 legend=tuple(legend))


def usage_chart(rows: Sequence[tuple[str, str, int]], today: date, days: int = 30) -> Markup:
    """The usage chart as inline SVG markup (escaped by its template)."""
    return Markup(templates.get_template("service/chart.svg").render(c=chart_geometry(rows, today, days)))


def wallet_row(status: WalletStatus) -> dict[str, str]:
    runway = "unlimited" if status.unlimited else (format_duration(status.runway) if status.spending else "—")
    servers = ", ".join(f"{name} ({profile}{f', {zone}' if zone else ''})"
                        for name, profile, _, zone in status.servers) or "none"
    return {"wallet": status.wallet, "balance": credits_text(status.balance),
            "spending": credits_text(status.spending), "runway": runway, "servers": servers}


def render_page(*, user: str, prefix: str, hub_home: str, statuses: Sequence[WalletStatus],
                warning: str, usage: Sequence[tuple[str, str, int]], today: date,
                entries: Sequence[Entry], total: int, offset: int, limit: int,
                how_to_get_more: str) -> str:
    return templates.get_template("service/credits.html").render(
        user=user, prefix=prefix, hub_home=hub_home, warning=warning,
        wallets=[wallet_row(s) for s in statuses], chart=usage_chart(usage, today),
        how_to_get_more=how_to_get_more, total=total, entries=entries,
        zones=any(entry.zone for entry in entries),  # a zone's column only where zones share the ledger
        newer=max(offset - limit, 0) if offset > 0 else None,
        older=offset + limit if offset + limit < total else None)
