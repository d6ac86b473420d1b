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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import web

from notebooks_service.services.credits.config import CreditsSection
from notebooks_service.services.credits.hub import HubClient
from notebooks_service.services.credits.ledger import (
    KIND_SIGNS,
    Ledger,
    NewEntry,
    history,
    post,
    to_credits,
    to_micro,
    usage_per_day,
)
from notebooks_service.services.credits.metrics import CreditsMetrics
from notebooks_service.services.credits.models import Entry
from notebooks_service.services.credits.page import render_page, usage_chart
from notebooks_service.services.credits.status import (
    WalletStatus,
    refresh_grants,
    user_wallets,
    wallet_statuses,
    warning_text,
)

log = logging.getLogger(__name__)

MAX_PAGE = 500
IDENTITY_CACHE_SECONDS = 30.0


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
    hub: HubClient
    metrics: CreditsMetrics
    prefix: str
    hub_home: str
    identities: dict[str, tuple[float, Caller]]


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id, "time": entry.time.isoformat(), "wallet": entry.wallet, "kind": entry.kind,
        "amount": to_credits(entry.amount), "actor": entry.actor, "reason": entry.reason,
        "server": entry.server, "profile": entry.profile, "seconds": entry.seconds,
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
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

    async def wallets(self, caller: Caller) -> list[str]:
        state = self.state
        await asyncio.to_thread(refresh_grants, state.ledger, state.settings, caller.name, caller.groups,
                                datetime.now(UTC))
        with state.ledger.session() as session:
            return user_wallets(session, state.settings, caller.name, caller.groups)

    async def readable(self, caller: Caller) -> list[str]:
        """The wallets the request asks for (`?wallet=`, repeatable), checked; default: the caller's."""
        mine = await self.wallets(caller)
        asked = self.get_arguments("wallet")
        if not asked:
            return mine
        refused = [w for w in asked if w not in mine and not caller.admin]
        if refused:
            raise web.HTTPError(403, f"not your wallet: {', '.join(refused)}")
        return asked

    def statuses(self, caller: Caller, wallets: list[str]) -> list[WalletStatus]:
        with self.state.ledger.session() as session:
            return wallet_statuses(session, self.state.settings, caller.name, wallets)

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
        statuses = self.statuses(caller, await self.readable(caller))
        settings = self.state.settings
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
        with self.state.ledger.session() as session:
            entries, total = history(session, wallets, limit, offset)
        following = offset + limit if offset + limit < total else None
        self.write({"entries": [entry_json(e) for e in entries], "total": total, "offset": offset,
                    "limit": limit, "next_offset": following})


class HistoryCsvHandler(CreditsHandler):
    """`GET api/history.csv?wallet=`: every entry of the wallets, oldest first, for spreadsheets."""

    async def get(self) -> None:
        caller = await self.caller()
        wallets = await self.readable(caller)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        columns = ["id", "time", "wallet", "kind", "amount", "actor", "reason", "server", "profile",
                   "seconds", "expires_at"]
        writer.writerow(columns)
        with self.state.ledger.session() as session:
            entries, _ = history(session, wallets, limit=10**9)
        for entry in reversed(entries):
            row = entry_json(entry)
            writer.writerow([row[c] if row[c] is not None else "" for c in columns])
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="credits-history.csv"')
        self.finish(buffer.getvalue())


class EntriesHandler(CreditsHandler):
    """`POST api/wallets/{wallet}/entries` (admins): grant, refund or adjust with a mandatory reason.

    Body: `{"kind": "grant"|"refund"|"adjustment", "amount": credits, "reason": "...",
    "expires_in_days": optional, grants only}`. Grants and refunds must be positive.
    """

    async def post(self, wallet: str) -> None:
        caller = await self.caller()
        if not caller.admin:
            raise web.HTTPError(403, "only admins can change wallets")
        try:
            body = json.loads(self.request.body or b"{}")
            kind, amount, reason = body["kind"], float(body["amount"]), str(body.get("reason", "")).strip()
        except (ValueError, KeyError, TypeError):
            raise web.HTTPError(400, "body must be JSON with kind, amount and reason") from None
        if kind not in KIND_SIGNS or kind in ("charge", "expiry"):
            raise web.HTTPError(400, "kind must be grant, refund or adjustment")
        if not reason:
            raise web.HTTPError(400, "a reason is required")
        if KIND_SIGNS[kind] > 0 and amount <= 0:
            raise web.HTTPError(400, f"a {kind} must be positive; use an adjustment to take credits")
        if not wallet.startswith(("user:", "group:")):
            raise web.HTTPError(400, "wallet must be user:<name> or group:<name>")
        now = datetime.now(UTC)
        days = body.get("expires_in_days") or self.state.settings.grant_lifetime_days
        lifetime = timedelta(days=float(days))
        entry = NewEntry(time=now, wallet=wallet, kind=kind, amount=to_micro(amount), actor=caller.name,
                         reason=reason, expires_at=now + lifetime if kind == "grant" else None)
        with self.state.ledger.session.begin() as session:
            post(session, [entry])
        log.info("%s posted %s of %s to %s: %s", caller.name, kind, amount, wallet, reason)
        self.set_status(201)
        self.write({"wallet": wallet, "kind": kind, "amount": amount, "reason": reason,
                    "actor": caller.name})


class PageHandler(CreditsHandler):
    """The credits page (browser; logs in through the hub with OAuth)."""

    @web.authenticated
    async def get(self) -> None:
        caller = await self.caller()
        wallets = await self.readable(caller)
        statuses = self.statuses(caller, wallets)
        limit, offset = self.page_args()
        today = datetime.now(UTC).date()
        with self.state.ledger.session() as session:
            entries, total = history(session, wallets, limit, offset)
            usage = usage_per_day(session, wallets, datetime.now(UTC) - timedelta(days=30))
        settings = self.state.settings
        self.finish(render_page(
            user=caller.name, prefix=self.state.prefix, hub_home=self.state.hub_home, statuses=statuses,
            warning=warning_text(statuses, settings.grace_period), chart=usage_chart(usage, today),
            entries=entries, total=total, offset=offset, limit=limit,
            how_to_get_more=settings.how_to_get_more))


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
