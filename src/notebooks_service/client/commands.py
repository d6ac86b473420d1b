"""`notebooks servers list|start|stop|credits`: what each does, and what it writes to stdout.

The command's output (a table, or JSON with `--json`) goes to stdout; diagnostics go to the log on
stderr. A listing over several zones shows every zone, those that are down or refuse the token too,
and then exits 2 with one line per such zone, so scripts notice an incomplete answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import httpx

from notebooks_service.client.api import ZoneApi
from notebooks_service.client.errors import ClientError, OperationFailed, ZoneRefused
from notebooks_service.client.token import AccessToken, find_token
from notebooks_service.client.zones import Federation, Zone, discover

log = logging.getLogger(__name__)

HUB_URL_ENV = "NOTEBOOKS_URL"
PUBLIC_HUB_URL_ENV = "JUPYTERHUB_PUBLIC_HUB_URL"
POLL_INTERVAL = 1.0


def hub_url(given: str | None, environ: Mapping[str, str]) -> str:
    """`--hub`, else `$NOTEBOOKS_URL`, else the hub's public URL as JupyterHub tells a session
    (`https://host/hub/` names the hub's own pages; services live beside them)."""
    if given:
        return given.rstrip("/")
    if environ.get(HUB_URL_ENV):
        return environ[HUB_URL_ENV].rstrip("/")
    public = environ.get(PUBLIC_HUB_URL_ENV, "").rstrip("/")
    if public:
        return public.removesuffix("/hub")
    raise ClientError(f"no hub to start from: pass --hub URL or set ${HUB_URL_ENV}")


def server_label(name: str) -> str:
    return name or "(default)"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, the last one left ragged."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
                   .rstrip() + "\n" for row in rows)


def duration(seconds: float | None) -> str:
    """A wallet's runway; None means nothing draws on it (or it is unlimited)."""
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{max(int(seconds), 0)} s"
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


class Session:
    """What every command shares: the token, the HTTP client with its timeouts, the zones."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str], out: TextIO,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.args = args
        self.out = out
        self.token: AccessToken = find_token(args.token_file, environ)
        self.token.check_not_expired()
        self.hub_url = hub_url(args.hub, environ)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(args.timeout), follow_redirects=False,
                                      transport=transport)

    async def zones(self) -> Federation:
        federation = await discover(self.http, self.hub_url)
        log.debug("zones: %s", ", ".join(zone.label for zone in federation.zones))
        return federation

    def api(self, zone: Zone) -> ZoneApi:
        return ZoneApi(zone, self.token, self.http)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def write_json(self, value: Any) -> None:
        self.write(json.dumps(value) + "\n")


def problem(zone: Zone, exc: ClientError) -> dict[str, Any]:
    return {"zone": zone.name, "url": zone.url,
            "status": "refused" if isinstance(exc, ZoneRefused) else "down", "error": str(exc)}


def report_problems(answers: Sequence[dict[str, Any]]) -> int:
    """Log one line per zone that did not answer; 2 when there was any, else 0."""
    failed = [answer for answer in answers if answer["status"] in ("down", "refused")]
    for answer in failed:
        log.error("%s", answer["error"])
    return 2 if failed else 0


# --- list ---

def server_rows(zone: Zone, model: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": name, "ready": bool(server.get("ready")), "pending": server.get("pending"),
         "url": zone.url + (server.get("url") or ""), "started": server.get("started"),
         "profile": (server.get("user_options") or {}).get("profile")}
        for name, server in sorted((model.get("servers") or {}).items())
    ]


async def zone_servers(session: Session, zone: Zone) -> dict[str, Any]:
    try:
        model = await session.api(zone).me()
    except ClientError as exc:
        return problem(zone, exc)
    return {"zone": zone.name, "url": zone.url, "status": "up", "user": model.get("name"),
            "servers": server_rows(zone, model)}


def server_state(server: Mapping[str, Any]) -> str:
    if server["pending"]:
        return f"pending {server['pending']}"
    return "ready" if server["ready"] else "not ready"


async def list_servers(session: Session) -> int:
    federation = await session.zones()
    answers = await asyncio.gather(*(zone_servers(session, zone) for zone in federation.zones))
    if session.args.json:
        session.write_json({"zones": answers})
    else:
        rows = [["ZONE", "SERVER", "STATUS", "PROFILE", "STARTED (UTC)", "URL"]]
        for answer in answers:
            zone = answer["zone"] or "-"
            if answer["status"] != "up":
                rows.append([zone, "-", answer["status"], "-", "-", answer["url"]])
            elif not answer["servers"]:
                rows.append([zone, "-", "no servers", "-", "-", answer["url"]])
            for server in answer.get("servers", []):
                started = (server["started"] or "-")[:19].replace("T", " ")
                rows.append([zone, server_label(server["name"]), server_state(server),
                             server["profile"] or "-", started, server["url"]])
        session.write(table(rows))
    return report_problems(answers)


# --- start ---

async def start_server(session: Session) -> int:
    args = session.args
    zone = (await session.zones()).pick(args.zone)
    if args.profile and zone.profiles and args.profile not in zone.profiles:
        raise ClientError(f"{zone.label} has no profile {args.profile!r}; its profiles: "
                          f"{', '.join(zone.profiles)}")
    api = session.api(zone)
    user = str((await api.me())["name"])
    options: dict[str, Any] = {"mount_access_token": bool(args.mount_token)}
    if args.profile:
        options["profile"] = args.profile
    log.info("%s: starting %s's server %s with %s", zone.label, user, server_label(args.name),
             f"profile {args.profile}" if args.profile else "the zone's default profile")
    await api.start(user, args.name, options)
    try:
        async with asyncio.timeout(args.wait):
            ready = await follow(session, api, user, args.name)
    except TimeoutError:
        raise OperationFailed(f"{zone.label}: the server is not ready after {args.wait:g} s; it may "
                              "still be starting (see `notebooks servers list`)") from None
    if ready is None:
        model = await api.me()
        server = (model.get("servers") or {}).get(args.name) or {}
        if not server.get("ready"):
            raise OperationFailed(f"{zone.label}: the progress stream ended before the server was ready")
        ready = zone.url + str(server.get("url") or "")
    if args.json:
        session.write_json({"zone": zone.name, "server": args.name, "ready": True, "url": ready})
    else:
        session.write(f"ready: {ready}\n")
    return 0


async def follow(session: Session, api: ZoneApi, user: str, server: str) -> str | None:
    """Print the start's events; the server's URL once ready, None if the stream ended first.
    A failed start raises OperationFailed with the hub's message."""
    async for event in api.progress(user, server):
        event.pop("html_message", None)
        if session.args.json:
            session.write_json({"zone": api.zone.name, "server": server, "event": event})
        else:
            session.write(f"[{int(event.get('progress') or 0):3d}%] {event.get('message', '')}\n")
        if event.get("failed"):
            raise OperationFailed(f"{api.zone.label}: {event.get('message') or 'the start failed'}")
        if event.get("ready"):
            return api.zone.url + str(event.get("url") or "")
    return None


# --- stop ---

async def stop_server(session: Session) -> int:
    args = session.args
    zone = (await session.zones()).pick(args.zone)
    api = session.api(zone)
    model = await api.me()
    user = str(model["name"])
    if args.name not in (model.get("servers") or {}):
        if args.json:
            session.write_json({"zone": zone.name, "server": args.name, "stopped": True,
                                "was_running": False})
        else:
            session.write(f"not running: {server_label(args.name)} in {zone.name or zone.url}\n")
        return 0
    if not await api.stop(user, args.name):
        try:
            async with asyncio.timeout(args.wait):
                while args.name in ((await api.me()).get("servers") or {}):
                    await asyncio.sleep(POLL_INTERVAL)
        except TimeoutError:
            raise OperationFailed(f"{zone.label}: the server is still stopping after {args.wait:g} s"
                                  ) from None
    if args.json:
        session.write_json({"zone": zone.name, "server": args.name, "stopped": True, "was_running": True})
    else:
        session.write(f"stopped: {server_label(args.name)} in {zone.name or zone.url}\n")
    return 0


# --- credits ---

async def zone_credits(session: Session, zone: Zone) -> dict[str, Any]:
    api = session.api(zone)
    try:
        if zone.credits is False or not await api.has_credits():
            return {"zone": zone.name, "url": zone.url, "status": "off"}
        user = str((await api.me())["name"])
        async with api.short_hub_token(user) as hub_token:
            status = await api.credits_status(hub_token)
    except OperationFailed as exc:
        return {"zone": zone.name, "url": zone.url, "status": "failed", "error": str(exc)}
    except ClientError as exc:
        return problem(zone, exc)
    return {"zone": zone.name, "url": zone.url, "status": "up", "user": status.get("user"),
            "wallets": status.get("wallets", []), "warning": status.get("warning", "")}


def paid_server(server: Mapping[str, Any]) -> str:
    """`alice/ (small, eu-2)`: a wallet shared by zones pays for servers in each, so the zone is
    named when the credits service says it."""
    about = [str(server["profile"]), *([str(server["zone"])] if server.get("zone") else [])]
    return f"{server['server']} ({', '.join(about)})"


async def show_credits(session: Session) -> int:
    federation = await session.zones()
    zones = [federation.pick(session.args.zone)] if session.args.zone else federation.zones
    answers = await asyncio.gather(*(zone_credits(session, zone) for zone in zones))
    if session.args.json:
        session.write_json({"zones": answers})
    else:
        rows = [["ZONE", "WALLET", "BALANCE", "SPENDING/H", "RUNWAY", "SERVERS"]]
        for answer in answers:
            zone = answer["zone"] or "-"
            if answer["status"] != "up":
                rows.append([zone, "-", answer["status"], "-", "-", "-"])
            for wallet in answer.get("wallets", []):
                servers = ", ".join(paid_server(s) for s in wallet["servers"]) or "-"
                rows.append([zone, wallet["wallet"], "unlimited" if wallet["unlimited"] else
                             f"{wallet['balance']:g}", f"{wallet['spending_per_hour']:g}",
                             duration(wallet["runway_seconds"]), servers])
        session.write(table(rows))
        for answer in answers:
            if answer.get("warning"):
                session.write(f"{answer['zone'] or answer['url']}: {answer['warning']}\n")
    for answer in answers:
        if answer["status"] == "failed":
            log.error("%s", answer["error"])
    status = report_problems(answers)
    return status or (1 if any(a["status"] == "failed" for a in answers) else 0)


ACTIONS = {"list": list_servers, "start": start_server, "stop": stop_server, "credits": show_credits}


async def _run(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO,
               transport: httpx.AsyncBaseTransport | None) -> int:
    session = Session(args, environ, out, transport)
    try:
        return await ACTIONS[args.action](session)
    finally:
        await session.http.aclose()


def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None,
        out: TextIO | None = None, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Run `notebooks servers <action>`; a ClientError becomes its one logged line and exit status.
    The tests hand in `environ`, `out` and an in-process `transport` standing in for the zones."""
    try:
        return asyncio.run(_run(args, os.environ if environ is None else environ, out or sys.stdout,
                                transport))
    except ClientError as exc:
        log.error("%s", exc)
        return exc.exit_status
