"""An in-process stand-in for the hub REST API that records every request it gets."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

SERVICE_TOKEN = "service-token-never-forwarded"


@dataclass
class FakeHub:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    """hub token -> username"""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
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
            return self.admin(method, path, json.loads(self.request.body or b"null"))
        user = hub.tokens.get(auth.removeprefix("token "))
        if path == "":
            return self.reply(200, {"version": "6.1.1"})
        if user is None:
            return self.reply(403, {"status": 403, "message": "Missing or invalid credentials."})
        if path == "user":
            return self.reply(200, {"name": user})
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

    def admin(self, method: str, path: str, body: Any) -> None:
        hub, parts = self.hub, path.split("/")
        if parts[0] == "users" and len(parts) == 2:
            name = parts[1]
            if method == "GET":
                if name not in hub.users:
                    return self.reply(404, {"status": 404, "message": "no such user"})
                groups = sorted(g for g, m in hub.groups.items() if name in m)
                return self.reply(200, {**hub.users[name], "groups": groups})
            if method == "POST":
                hub.users[name] = {"name": name, "admin": False, "groups": []}
                return self.reply(201, hub.users[name])
        if parts[0] == "users" and parts[2:3] == ["tokens"]:
            if method == "POST":
                token = secrets.token_hex(8)
                hub.tokens[token] = parts[1]
                return self.reply(201, {"token": token, "id": f"a{len(hub.tokens)}",
                                        "note": body["note"], "expires_in": body["expires_in"]})
            if method == "DELETE":
                self.set_status(204)
                return self.finish()
        if parts[0] == "groups":
            group = parts[1]
            if len(parts) == 2 and method == "POST":
                hub.groups.setdefault(group, set())
                return self.reply(201, {"name": group})
            if group not in hub.groups:
                return self.reply(404, {"status": 404, "message": "no such group"})
            if method == "POST":
                hub.groups[group].update(body["users"])
            else:
                hub.groups[group].difference_update(body["users"])
            return self.reply(200, {"name": group})
        return self.reply(400, {"status": 400, "message": f"unexpected {method} {path}"})

    get = head = post = delete = patch = put = options = handle  # type: ignore[assignment]
