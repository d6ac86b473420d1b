"""HTTP handlers of the credits service. Who the caller is comes from the hub (OAuth cookie or token);
their groups and admin flag are looked up with the service's own token, so an OAuth token's narrow
scopes do not matter. Users see their own wallets; admins see and change any wallet.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from jupyterhub.services.auth import HubOAuthenticated
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import web
from tornado.iostream import StreamClosedError

from notebooks_service.services.credits import queries
from notebooks_service.services.credits.bodies import BodyError, parse_entry
from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.ledger import UNREACHABLE, Ledger, NewEntry, to_credits, to_micro
from notebooks_service.services.credits.metrics import CreditsMetrics
from notebooks_service.services.credits.models import Entry
from notebooks_service.services.credits.page import render_page
from notebooks_service.services.credits.status import WalletStatus, warning_text
from notebooks_service.services.hub_api import HubApi

log = logging.getLogger(__name__)

MAX_PAGE = 500
IDENTITY_CACHE_SECONDS = 30.0
CSV_BATCH = 2000
"""Entries per query and per flushed chunk of the CSV export: memory stays flat however long the
history, and each query is short."""
CSV_COLUMNS = ("id", "time", "wallet", "kind", "amount", "actor", "reason", "server", "profile",
               "seconds", "expires_at", "zone")
"""`zone` last, so that spreadsheets reading the columns by position before zones existed still work."""

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    name: str
    admin: bool
    groups: tuple[str, ...]


@dataclass
class ServiceState:
    """What every handler shares."""

    ledger: Ledger
    settings: CreditsSection
    hub: HubApi
    metrics: CreditsMetrics
    prefix: str
    hub_home: str
    identities: dict[str, tuple[float, Caller]]
    zone: str = ""
    """This service's zone: admins' entries posted here carry it."""


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id, "time": entry.time.isoformat(), "wallet": entry.wallet, "kind": entry.kind,
        "amount": to_credits(entry.amount), "actor": entry.actor, "reason": entry.reason,
        "server": entry.server, "profile": entry.profile, "seconds": entry.seconds,
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None, "zone": entry.zone,
    }


class CreditsHandler(HubOAuthenticated, web.RequestHandler):
    @property
    def state(self) -> ServiceState:
        return self.settings["credits"]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))

    async def in_pool(self, work: Callable[..., T], *args: Any) -> T:
        """Run ledger work in the thread pool: the event loop keeps serving while the database works.
        An unreachable ledger is a 503 the caller may retry (the JupyterLab status bar does), not a 500."""
        try:
            return await asyncio.to_thread(work, self.state.ledger, *args)
        except UNREACHABLE as e:
            log.warning("credits ledger unreachable for %s: %s", self.request.path, type(e).__name__)
            raise web.HTTPError(503, "the credits ledger cannot be reached right now; try again in a "
                                "minute") from None

    async def caller(self) -> Caller:
        model = self.current_user
        if not model or model.get("kind", "user") != "user":
            raise web.HTTPError(403, "a hub user is required")
        name = model["name"]
        cached = self.state.identities.get(name)
        if cached and time.monotonic() - cached[0] < IDENTITY_CACHE_SECONDS:
            return cached[1]
        full = await self.state.hub.user(name) or {}
        caller = Caller(name=name, admin=bool(full.get("admin")), groups=tuple(full.get("groups") or ()))
        self.state.identities[name] = (time.monotonic(), caller)
        return caller

    async def readable(self, caller: Caller) -> list[str]:
        """The wallets the request asks for (`?wallet=`, repeatable), checked; default: the caller's."""
        mine = await self.in_pool(queries.caller_wallets, self.state.settings, caller.name, caller.groups,
                                  datetime.now(UTC))
        asked = self.get_arguments("wallet")
        if not asked:
            return mine
        refused = [w for w in asked if w not in mine and not caller.admin]
        if refused:
            raise web.HTTPError(403, f"not your wallet: {', '.join(refused)}")
        return asked

    def page_args(self) -> tuple[int, int]:
        try:
            limit = min(int(self.get_argument("limit", "50")), MAX_PAGE)
            offset = int(self.get_argument("offset", "0"))
        except ValueError:
            raise web.HTTPError(400, "limit and offset must be integers") from None
        if limit < 1 or offset < 0:
            raise web.HTTPError(400, "limit must be positive and offset not negative")
        return limit, offset


class StatusHandler(CreditsHandler):
    """`GET api/status`: balances, spending, runway and warnings of the caller's wallets.

    The endpoint for the JupyterLab status bar and notifications: poll it (e.g. every minute);
    `warning` is the text to show, empty when there is nothing to say.
    """

    async def get(self) -> None:
        caller = await self.caller()
        settings = self.state.settings
        statuses: list[WalletStatus] = await self.in_pool(queries.statuses, settings, caller.name,
                                                          await self.readable(caller))
        self.write({
            "user": caller.name,
            "wallets": [s.as_json() for s in statuses],
            "warning": warning_text(statuses, settings.grace_period),
            "minimum_runway_seconds": settings.minimum_runway,
            "warning_thresholds": settings.warning_thresholds,
            "grace_period_seconds": settings.grace_period,
            "how_to_get_more": settings.how_to_get_more,
            "page_url": self.state.prefix,
        })


class HistoryHandler(CreditsHandler):
    """`GET api/history?wallet=&limit=&offset=`: entries newest first, with the total and next page."""

    async def get(self) -> None:
        caller = await self.caller()
        wallets = await self.readable(caller)
        limit, offset = self.page_args()
        entries, total = await self.in_pool(queries.history_page, wallets, limit, offset)
        following = offset + limit if offset + limit < total else None
        self.write({"entries": [entry_json(e) for e in entries], "total": total, "offset": offset,
                    "limit": limit, "next_offset": following})


def csv_chunk(entries: list[Entry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for entry in entries:
        row = entry_json(entry)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


class HistoryCsvHandler(CreditsHandler):
    """`GET api/history.csv?wallet=`: every entry of the wallets, oldest first, for spreadsheets.

    Streamed: one batch of entries is read, written and flushed to the client before the next is
    read, so the service's memory does not grow with the history (a busy wallet has millions).
    """

    async def get(self) -> None:
        caller = await self.caller()
        wallets = await self.readable(caller)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="credits-history.csv"')
        self.write(",".join(CSV_COLUMNS) + "\r\n")
        after: tuple[datetime, int] | None = None
        try:
            while batch := await self.in_pool(queries.csv_batch, wallets, after, CSV_BATCH):
                self.write(csv_chunk(batch))
                await self.flush()
                after = (batch[-1].time, batch[-1].id)
        except StreamClosedError:
            log.info("%s left during the CSV export", caller.name)
            return
        self.finish()


class EntriesHandler(CreditsHandler):
    """`POST api/wallets/{wallet}/entries` (admins): grant, refund or adjust with a mandatory reason.

    Body (`bodies.EntryBody`): `{"kind": "grant"|"refund"|"adjustment", "amount": credits,
    "reason": "...", "expires_in_days": optional, grants only}`. Grants and refunds must be positive.
    """

    async def post(self, wallet: str) -> None:
        caller = await self.caller()
        if not caller.admin:
            raise web.HTTPError(403, "only admins can change wallets")
        if not wallet.startswith(("user:", "group:")):
            raise web.HTTPError(400, "wallet must be user:<name> or group:<name>")
        try:
            body = parse_entry(self.request.body)
        except BodyError as e:
            raise web.HTTPError(400, str(e)) from None
        now = datetime.now(UTC)
        days = body.expires_in_days or self.state.settings.grant_lifetime_days
        entry = NewEntry(time=now, wallet=wallet, kind=body.kind, amount=to_micro(body.amount),
                         actor=caller.name, reason=body.reason,
                         expires_at=now + timedelta(days=days) if body.kind == "grant" else None,
                         zone=self.state.zone)
        await self.in_pool(queries.post_entry, entry)
        log.info("%s posted %s of %s to %s: %s", caller.name, body.kind, body.amount, wallet, body.reason)
        self.set_status(201)
        self.write({"wallet": wallet, "kind": body.kind, "amount": body.amount, "reason": body.reason,
                    "actor": caller.name})


class PageHandler(CreditsHandler):
    """The credits page (browser; logs in through the hub with OAuth)."""

    @web.authenticated
    async def get(self) -> None:
        caller = await self.caller()
        wallets = await self.readable(caller)
        limit, offset = self.page_args()
        now = datetime.now(UTC)
        settings = self.state.settings
        data = await self.in_pool(queries.page_data, settings, caller.name, wallets, limit, offset,
                                  now - timedelta(days=30))
        self.finish(render_page(
            user=caller.name, prefix=self.state.prefix, hub_home=self.state.hub_home,
            statuses=data.statuses, warning=warning_text(data.statuses, settings.grace_period),
            usage=data.usage, today=now.date(), entries=data.entries, total=data.total, offset=offset,
            limit=limit, how_to_get_more=settings.how_to_get_more))


class MetricsHandler(CreditsHandler):
    """Prometheus metrics: totals over all users, so admins and hub services only (see docs/credits.md,
    Monitoring: Prometheus scrapes with an admin's token scoped to this service)."""

    async def get(self) -> None:
        model = self.current_user
        if not model:
            raise web.HTTPError(403, "authentication required")
        if model.get("kind", "user") == "user" and not (await self.caller()).admin:
            raise web.HTTPError(403, "admins only")
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.state.metrics.registry))
