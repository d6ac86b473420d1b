"""The credits page: balances, runway, usage per day and profile (inline SVG), and the history.

Plain server-rendered HTML with no external assets, so it works offline and behind strict CSPs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

from notebooks_service.services.credits.ledger import to_credits
from notebooks_service.services.credits.models import Entry
from notebooks_service.services.credits.status import WalletStatus, format_duration

COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
nav{display:flex;gap:1.2em;align-items:center;background:#f8f9fa;border-bottom:1px solid #ddd;
 padding:.8em 1.2em}
nav a{color:#0b5ed7;text-decoration:none}
nav .user{margin-left:auto}
main{max-width:1000px;margin:1em auto;padding:0 1em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border-bottom:1px solid #e3e3e3;padding:.35em .5em;text-align:left;font-size:.92em}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
.warning{background:#fff3cd;border:1px solid #ffe69c;padding:.7em 1em;border-radius:4px}
.muted{color:#666}
"""


def credits_text(micro: int) -> str:
    return f"{to_credits(micro):,.2f}"


def usage_chart(rows: Sequence[tuple[str, str, int]], today: date, days: int = 30) -> str:
    """Stacked bars of credits spent per day, one colour per profile, for the last `days` days."""
    axis = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    profiles = sorted({profile for _, profile, _ in rows})
    per_day: dict[str, dict[str, int]] = {d: {} for d in axis}
    for day, profile, micro in rows:
        if day in per_day:
            per_day[day][profile] = per_day[day].get(profile, 0) + micro
    top = max((sum(v.values()) for v in per_day.values()), default=0) or 1
    width, height, left, top_margin, bar = 840, 220, 60, 20, 840 // days
    scale = (height - top_margin) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + left + 10}" height="{height + 60}"'
             ' role="img" aria-label="credits spent per day and profile" font-size="11">',
             f'<text x="4" y="{top_margin - 8}" fill="#666">credits</text>']
    for fraction in (0, 0.5, 1) if profiles else (0,):  # gridlines with their values
        y = round(height - fraction * top * scale)
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}" '
                     f'stroke="{"#999" if fraction == 0 else "#e3e3e3"}"/>'
                     f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" fill="#666">'
                     f"{to_credits(round(fraction * top)):.2f}</text>")
    for i, day in enumerate(axis):
        y = height
        for profile in profiles:
            micro = per_day[day].get(profile, 0)
            if not micro:
                continue
            h = max(1, round(micro * scale))
            y -= h
            color = COLORS[profiles.index(profile) % len(COLORS)]
            parts.append(f'<rect x="{left + i * bar + 3}" y="{y}" width="{bar - 6}" height="{h}" '
                         f'fill="{color}"><title>{escape(day)} {escape(profile)}: '
                         f'{to_credits(micro):.2f}</title></rect>')
        if i % 5 == 0 or i == days - 1:
            parts.append(f'<text x="{left + i * bar + bar // 2}" y="{height + 16}" text-anchor="middle" '
                         f'fill="#666">{day[5:]}</text>')
    for j, profile in enumerate(profiles):
        x = left + j * 130
        parts.append(f'<rect x="{x}" y="{height + 32}" width="12" height="12" '
                     f'fill="{COLORS[j % len(COLORS)]}"/><text x="{x + 16}" y="{height + 42}" '
                     f'font-size="12">{escape(profile)}</text>')
    if not profiles:
        parts.append(f'<text x="{left + width // 2}" y="{height // 2}" text-anchor="middle" fill="#666" '
                     f'font-size="13">No credits spent in the last {days} days</text>')
    parts.append("</svg>")
    return "".join(parts)


def wallets_table(statuses: Sequence[WalletStatus]) -> str:
    rows = []
    for s in statuses:
        runway = "unlimited" if s.unlimited else (format_duration(s.runway) if s.spending else "—")
        servers = ", ".join(f"{escape(name)} ({escape(profile)})" for name, profile, _ in s.servers) or "none"
        rows.append(f'<tr data-wallet="{escape(s.wallet)}"><td>{escape(s.wallet)}</td>'
                    f'<td class="num balance">{credits_text(s.balance)}</td>'
                    f'<td class="num">{credits_text(s.spending)}</td><td class="runway">{runway}</td>'
                    f"<td>{servers}</td></tr>")
    return ("<table id='wallets'><tr><th>Wallet</th><th class='num'>Balance</th>"
            "<th class='num'>Spending per hour</th>"
            "<th>Runway at current use</th><th>Paying for</th></tr>" + "".join(rows) + "</table>")


def history_table(entries: Sequence[Entry]) -> str:
    rows = "".join(
        f"<tr><td>{e.time:%Y-%m-%d %H:%M:%S}</td><td>{escape(e.wallet)}</td><td>{e.kind}</td>"
        f'<td class="num">{to_credits(e.amount):+,.4f}</td><td>{escape(e.server)}</td>'
        f"<td>{escape(e.profile)}</td><td>{escape(e.actor)}</td><td>{escape(e.reason)}</td></tr>"
        for e in entries)
    return ("<table id='history'><tr><th>Time (UTC)</th><th>Wallet</th><th>Kind</th>"
            "<th class='num'>Amount</th>"
            "<th>Server</th><th>Profile</th><th>By</th><th>Reason</th></tr>" + rows + "</table>")


def render_page(*, user: str, prefix: str, hub_home: str, statuses: Sequence[WalletStatus],
                warning: str, chart: str, entries: Sequence[Entry], total: int, offset: int,
                limit: int, how_to_get_more: str) -> str:
    pager = []
    if offset > 0:
        pager.append(f'<a href="?offset={max(offset - limit, 0)}">newer</a>')
    if offset + limit < total:
        pager.append(f'<a href="?offset={offset + limit}">older</a>')
    banner = f'<p class="warning" id="credits-warning">{escape(warning)}</p>' if warning else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Credits</title><style>{STYLE}</style></head>
<body><nav><a href="{escape(hub_home)}">Home</a><a href="{escape(prefix)}">Credits</a>
<span class="muted user">{escape(user)}</span></nav><main>
<h1>Credits</h1>{banner}
<h2>Wallets</h2>{wallets_table(statuses)}
<p class="muted">{escape(how_to_get_more)}</p>
<h2>Usage per day and profile (last 30 days)</h2><div id="usage-chart">{chart}</div>
<h2>History</h2>
<p class="muted">{total} entries · <a href="{escape(prefix)}api/history.csv">download CSV</a>
 {" · ".join(pager)}</p>
{history_table(entries)}
</main></body></html>"""
