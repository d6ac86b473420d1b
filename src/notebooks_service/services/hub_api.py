"""The hub REST API as our services call it with their own token: one client, on httpx.

The JWT service (bearer-login, revoking the tokens it minted, asking whether the hub still accepts
one), the credits service (the active servers, a user's groups, stopping a server) and the token
release service (whose token a caller holds, the owner's auth state, the server's shares) each had a
client of their own, on two HTTP libraries. Here they share one: the same `token` scheme, the same
quoting of names in paths, the same timeouts, and one meaning of a failed call (`HubUnavailable`).

Not here: the JWT service's relay of its callers' requests (`services/jwt/upstream.py`). That is a
reverse proxy on aiohttp, whose C parser on both sides keeps the per-request cost of the extra hop
small (docs/benchmarks.md); this client serves the services' own, much rarer calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

PAGINATION = "application/jupyterhub-pagination+json"
"""Accept type under which the hub pages its listings (`items` and `_pagination`)."""
NOT_A_VALID_TOKEN = (401, 403, 404)
"""What the hub answers `GET /user` with a token it does not accept."""


class HubUnavailable(Exception):
    """The hub could not be reached, or did not answer a call as it should."""


@dataclass(frozen=True)
class HubReply:
    """A hub answer, body read and decoded."""

    status: int
    data: Any
    """The decoded JSON body, or None (no body, or not JSON)."""
    reason: str

    def message(self) -> str:
        """The hub's own explanation of an error when it gave one, else the HTTP reason."""
        if isinstance(self.data, dict) and self.data.get("message"):
            return str(self.data["message"])
        return self.reason


def quote_name(name: str) -> str:
    """A user, server or token name as one path segment (a `/` in it must not start another)."""
    return quote(name, safe="")


def server_path(user: str, server: str) -> str:
    """`users/<user>/server` for the default server, `users/<user>/servers/<server>` for a named one."""
    tail = f"servers/{quote_name(server)}" if server else "server"
    return f"users/{quote_name(user)}/{tail}"


class HubApi:
    """Calls to `api_url` (e.g. `http://127.0.0.1:8081/hub/api`) with `token`, or with the token a
    call names (a user's, to act or to ask as that user)."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/", headers={"Authorization": f"token {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))

    async def call(self, method: str, path: str, *, token: str | None = None, body: Any = None,
                   params: Mapping[str, Any] | None = None, accept: str | None = None) -> HubReply:
        """Any answer of the hub, whatever its status; HubUnavailable only when there is none."""
        headers = {}
        if token is not None:
            headers["Authorization"] = f"token {token}"
        if accept is not None:
            headers["Accept"] = accept
        try:
            response = await self._http.request(method, path.lstrip("/"), json=body, params=params,
                                                headers=headers)
        except httpx.HTTPError as e:
            log.warning("hub %s %s failed: %s", method, path, type(e).__name__)
            raise HubUnavailable("hub unreachable") from None
        return HubReply(response.status_code, _json_or_none(response.content), response.reason_phrase)

    async def get(self, path: str, *, token: str | None = None, params: Mapping[str, Any] | None = None,
                  accept: str | None = None, absent: tuple[int, ...] = (404,)) -> Any:
        """The decoded answer of a GET; None when the hub answers one of the `absent` statuses (there
        is no such thing, or none the token may see); HubUnavailable for any other failure."""
        reply = await self.call("GET", path, token=token, params=params, accept=accept)
        if reply.status in absent:
            return None
        if reply.status != 200 or reply.data is None:
            log.warning("GET %s: HTTP %s %s", path, reply.status, reply.message())
            raise HubUnavailable(f"GET {path}: HTTP {reply.status}")
        return reply.data

    async def whoami(self, token: str) -> dict[str, Any] | None:
        """The hub's model of whoever holds `token` (user or service, with its scopes); None when the
        hub does not accept the token."""
        return await self.get("user", token=token, absent=NOT_A_VALID_TOKEN)

    async def user(self, name: str) -> dict[str, Any] | None:
        """The user's model as the service's token may see it; None when there is no such user."""
        return await self.get(f"users/{quote_name(name)}")

    async def active_users(self, page_size: int = 200) -> list[dict[str, Any]]:
        """Every user with a running or starting server (`/users?state=active`), page by page, so
        that no single answer grows with the number of users."""
        users: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.get("users", params={"state": "active", "offset": offset, "limit": page_size},
                                  accept=PAGINATION, absent=())
            users.extend(page["items"])
            following = (page.get("_pagination") or {}).get("next")
            if not following:
                return users
            offset = following["offset"]

    async def stop_server(self, user: str, server: str) -> None:
        """Ask the hub to stop a server (it answers before the server has stopped)."""
        path = server_path(user, server)
        reply = await self.call("DELETE", path)
        if reply.status >= 400:
            log.warning("DELETE %s: HTTP %s %s", path, reply.status, reply.message())
            raise HubUnavailable(f"DELETE {path}: HTTP {reply.status}")

    async def is_shared(self, owner: str, server: str) -> bool:
        """Whether the server has a share or a share code right now."""
        path = f"{quote_name(owner)}/{quote_name(server)}"
        for kind in ("shares", "share-codes"):
            listing = await self.get(f"{kind}/{path}", absent=())
            if listing.get("items"):
                return True
        return False

    async def aclose(self) -> None:
        await self._http.aclose()


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
