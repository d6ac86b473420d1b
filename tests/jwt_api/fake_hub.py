"""An in-process stand-in for the hub REST API that records every request it gets."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

SERVICE_TOKEN = "service-token-never-forwarded"


class Refusal(Exception):
    """Raised by `FakeHub.claims_of` to make bearer-login answer with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(f"refused with {status}")
        self.status = status


@dataclass
class FakeHub:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    """hub token -> username"""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """The `note` of every bearer-login."""
    claims_of: Callable[[str], dict[str, Any] | None] | None = None
    """What the real hub's verification would find in a bearer token (None: invalid)."""
    login_delay: float = 0.0
    """Seconds each bearer-login takes, so that tests can overlap two of them."""
    port: int = 0
    down: bool = False
    _server: HTTPServer | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub/api"

    def start(self) -> FakeHub:
        sockets = bind_sockets(self.port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(web.Application([(r"/hub/api/(.*)", _Api, {"hub": self})]))
        self._server.add_sockets(sockets)
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop()
            self._server = None

    async def shutdown(self) -> None:
        server = self._server
        self.stop()
        if server is not None:
            await server.close_all_connections()

    def proxied(self) -> list[tuple[str, str, dict[str, str]]]:
        """Requests made with a user token (i.e. forwarded ones, not provisioning)."""
        return [r for r in self.requests if r[2].get("Authorization") != f"token {SERVICE_TOKEN}"]


class _Api(web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, hub: FakeHub) -> None:
        self.hub = hub

    def check_xsrf_cookie(self) -> None:
        return None

    def reply(self, status: int, body: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def handle(self, path: str) -> None:
        hub, method = self.hub, self.request.method or "GET"
        hub.requests.append((method, path, dict(self.request.headers)))
        auth = self.request.headers.get("Authorization", "")
        if auth == f"token {SERVICE_TOKEN}":
            return await self.admin(method, path, json.loads(self.request.body or b"null"))
        user = hub.tokens.get(auth.removeprefix("token "))
        if path == "":
            return self.reply(200, {"version": "6.1.1"})
        if user is None:
            return self.reply(403, {"status": 403, "message": "Missing or invalid credentials."})
        if path == "user":
            return self.reply(200, {"name": user})
        if method == "DELETE" and "/tokens/" in path:
            return self.revoke(user, path)
        if path == "echo":
            self.set_header("Location", "/hub/api/users/x")
            self.set_header("Link", '<next>; rel="next"')
            self.set_header("Set-Cookie", "hub-secret=1")
            self.set_status(201 if method == "POST" else 200)
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps({
                "user": user, "method": method, "query": self.request.query,
                "body": self.request.body.decode(), "headers": dict(self.request.headers)}))
        if path.endswith("/progress"):
            self.set_header("Content-Type", "text/event-stream")
            for i in range(3):
                self.write(f"data: {json.dumps({'progress': (i + 1) * 33})}\n\n")
                await self.flush()
                await asyncio.sleep(0.2)
            return self.finish()
        if path == "nothing":
            self.set_status(204)
            return self.finish()
        if path.startswith("users/"):
            name = path.split("/")[1]
            if name != user:
                return self.reply(404, {"status": 404, "message": f"No such user {name}"})
            return self.reply(200, hub.users[name])
        return self.reply(404, {"status": 404, "message": "Not Found"})

    async def admin(self, method: str, path: str, body: Any) -> None:
        """The service's own calls: only bearer-login, as the real hub's endpoint answers it."""
        hub = self.hub
        await asyncio.sleep(hub.login_delay)
        if (method, path) != ("POST", "notebooks/bearer-login"):
            return self.reply(400, {"status": 400, "message": f"unexpected {method} {path}"})
        try:
            claims = hub.claims_of(body["token"]) if hub.claims_of else None
        except Refusal as e:
            return self.reply(e.status, {"status": e.status, "message": str(e)})
        if claims is None:
            return self.reply(401, {"status": 401, "message": "token not valid"})
        name = claims["preferred_username"]
        groups = set(claims.get("eduperson_entitlement") or [])
        hub.users[name] = {"name": name, "admin": "admins" in groups, "groups": sorted(groups)}
        for members in hub.groups.values():
            members.discard(name)
        for group in groups:
            hub.groups.setdefault(group, set()).add(name)
        token = secrets.token_hex(8)
        hub.tokens[token] = name
        hub.notes.append(body["note"])
        return self.reply(201, {"token": token, "id": f"a{len(hub.tokens)}",
                                "expires_in": body["expires_in"], "name": name})

    def revoke(self, user: str, path: str) -> None:
        """`DELETE users/<name>/tokens/<id>` with the token itself."""
        if path.startswith(f"users/{user}/tokens/"):
            self.set_status(204)
            return self.finish()
        return self.reply(403, {"status": 403, "message": "not your token"})

    get = head = post = delete = patch = put = options = handle  # type: ignore[assignment]
