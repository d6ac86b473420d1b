"""Zones in-process, behind an httpx.MockTransport: each answers its directory, the JWT API paths the
client calls, and its credits service, or fails in the way a test asks for."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

ISSUER = "https://idp.example.org"


def jwt_token(expires_in: float = 300, issuer: str = ISSUER) -> str:
    """A JWT the client can read the claims of (zones are fakes: the signature does not matter)."""
    now = time.time()
    claims = {"iss": issuer, "sub": "alice", "preferred_username": "alice", "iat": int(now),
              "exp": int(now + expires_in)}
    return jwt.encode(claims, "the client never checks this signature key", algorithm="HS256")


@dataclass
class FakeZone:
    name: str
    failure: str = ""
    """"": answers; "down": refuses connections; "timeout": never answers; "refused": 401."""
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: tuple[str, ...] = ("small", "large")
    progress: list[dict[str, Any]] = field(default_factory=list)
    wallets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.name}.test"


@dataclass
class FakeFederation:
    zones: list[FakeZone]
    directory: bool = True
    """False: the first zone is a hub without a federation (404 on /services/zones/)."""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    """(method, URL, decoded JSON body) of every request that reached an answering zone."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Hub tokens issued through the JWT API and not revoked, id -> token."""

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def zone(self, host: str) -> FakeZone:
        return next(zone for zone in self.zones if zone.name == host.removesuffix(".test"))

    def handle(self, request: httpx.Request) -> httpx.Response:
        zone = self.zone(request.url.host)
        if zone.failure == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if zone.failure == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, str(request.url), body))
        path = request.url.path
        if path == "/services/zones/":
            return self.directory_answer(zone)
        if path.startswith("/services/credits/"):
            return self.credits_answer(request)
        if zone.failure == "refused":
            return httpx.Response(401, json={"status": 401, "message": "wrong issuer"})
        return self.jwt_answer(zone, request.method, path.removeprefix("/services/jwt"), body)

    def directory_answer(self, asked: FakeZone) -> httpx.Response:
        if not self.directory:
            return httpx.Response(404)
        return httpx.Response(200, json={"zone": asked.name, "zones": [
            {"name": zone.name, "display_name": zone.name.upper(), "url": zone.url,
             "self": zone is asked, "health": {"status": "down" if zone.failure else "up"},
             "profiles": [{"name": p, "price_per_hour": 1.0} for p in zone.profiles],
             "credits": bool(zone.wallets)}
            for zone in self.zones]})

    def jwt_answer(self, zone: FakeZone, method: str, path: str, body: Any) -> httpx.Response:
        if (method, path) == ("GET", "/user"):
            return httpx.Response(200, json={"name": "alice", "servers": zone.servers})
        if (method, path) == ("POST", "/users/alice/server"):
            return httpx.Response(202)
        if (method, path) == ("GET", "/users/alice/server/progress"):
            stream = "".join(f"data: {json.dumps(event)}\n\n" for event in zone.progress)
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  content=stream.encode())
        if (method, path) == ("DELETE", "/users/alice/server"):
            zone.servers.pop("", None)
            return httpx.Response(204)
        if (method, path) == ("POST", "/users/alice/tokens"):
            token_id = f"a{len(self.tokens) + 1}"
            self.tokens[token_id] = f"hub-token-{token_id}"
            return httpx.Response(201, json={"id": token_id, "token": self.tokens[token_id]})
        if method == "DELETE" and path.startswith("/users/alice/tokens/"):
            self.tokens.pop(path.rsplit("/", 1)[1], None)
            return httpx.Response(204)
        return httpx.Response(404, json={"status": 404, "message": "Not Found"})

    def credits_answer(self, request: httpx.Request) -> httpx.Response:
        zone = self.zone(request.url.host)
        if not zone.wallets:  # the hub sends paths of services it does not run to its own pages
            return httpx.Response(302, headers={"location": "/hub" + request.url.path})
        held = request.headers.get("authorization", "").removeprefix("token ")
        if held not in self.tokens.values():
            return httpx.Response(403, json={"status": 403, "message": "a hub user is required"})
        return httpx.Response(200, json={"user": "alice", "wallets": zone.wallets, "warning": ""})
