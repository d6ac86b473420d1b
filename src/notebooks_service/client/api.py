"""One zone's JWT API (`<zone>/services/jwt`) as the client uses it, with bounded waits everywhere.

Every call has the command's timeout (starts, stops and progress streams at least the hub's own
slowness allows); a zone that does not answer in time, or whose JWT service
answers that its hub or identity provider is unreachable (502, 503, 504), raises ZoneDown, and a
refused token raises ZoneRefused, both naming the zone. Other answers are the hub's, returned as they
are for the command to judge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from notebooks_service.client.errors import ClientError, OperationFailed, ZoneDown, ZoneRefused
from notebooks_service.client.token import AccessToken
from notebooks_service.client.zones import Zone
from notebooks_service.services.hub_api import quote_name, server_path

log = logging.getLogger(__name__)

JWT_PREFIX = "/services/jwt/"
CREDITS_STATUS = "/services/credits/api/status"
UNAVAILABLE = (502, 503, 504)
STREAM_READ_TIMEOUT = 30.0
"""Longest silence accepted on a progress stream; the hub sends a keepalive every 8 s."""
SLOW_ANSWER_TIMEOUT = 30.0
"""Least wait for the answer to a start or a stop: the hub holds those requests for up to its
`slow_spawn_timeout` or `slow_stop_timeout` (10 s by default) before answering 202."""
CREDITS_TOKEN_SECONDS = 60
CREDITS_TOKEN_NOTE = "notebooks servers credits (revoked after use)"


def hub_message(response: httpx.Response) -> str:
    """The hub's or the service's own explanation (`{"message": ...}`), else the HTTP reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class ZoneApi:
    """Calls to one zone on behalf of the token's user."""

    def __init__(self, zone: Zone, token: AccessToken, http: httpx.AsyncClient) -> None:
        self.zone = zone
        self._token = token
        self._http = http

    def _url(self, path: str) -> str:
        return self.zone.url + JWT_PREFIX + path.lstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.value}"}

    def _timeout(self, least: float) -> httpx.Timeout:
        """The command's timeout, with reads allowed at least `least` seconds."""
        configured = self._http.timeout
        return httpx.Timeout(configured.connect, read=max(least, configured.read or 0))

    def _unreachable(self, exc: httpx.HTTPError, timeout: httpx.Timeout | None = None) -> ZoneDown:
        if isinstance(exc, httpx.TimeoutException):
            waited = (timeout or self._http.timeout).read
            return ZoneDown(f"{self.zone.label} did not answer within {waited:g} s")
        return ZoneDown(f"{self.zone.label} does not answer: {exc or type(exc).__name__}")

    def _check(self, response: httpx.Response, refusals: tuple[int, ...] = (401,)) -> httpx.Response:
        if response.status_code in refusals:
            issuer = self._token.issuer
            whose = f" (the token is from {issuer})" if issuer else ""
            raise ZoneRefused(f"{self.zone.label} refused the token{whose}: {hub_message(response)} "
                              f"(HTTP {response.status_code}); its identity provider may not be the "
                              "token's, or the token was revoked")
        if response.status_code in UNAVAILABLE:
            raise ZoneDown(f"{self.zone.label} is unavailable: {hub_message(response)} "
                           f"(HTTP {response.status_code})")
        return response

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   refusals: tuple[int, ...] = (401,), slow: bool = False) -> httpx.Response:
        """One request; `slow` for a start or stop, which the hub answers late by design."""
        timeout = self._timeout(SLOW_ANSWER_TIMEOUT) if slow else self._http.timeout
        try:
            response = await self._http.request(method, self._url(path), headers=self._headers(),
                                                json=json_body, timeout=timeout)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc, timeout) from None
        log.debug("%s %s %s -> %s", self.zone.name or "-", method, path, response.status_code)
        return self._check(response, refusals)

    async def me(self) -> dict[str, Any]:
        """The token's hub user with their servers (`GET /user`). A 403 here means the zone's
        admission rules leave the user out, which is a refusal of the token too."""
        response = await self.call("GET", "user", refusals=(401, 403))
        if response.status_code != 200:
            raise ZoneDown(f"{self.zone.label} answered {hub_message(response)} for the token's user")
        return dict(response.json())

    async def start(self, user: str, server: str, options: dict[str, Any]) -> None:
        response = await self.call("POST", server_path(user, server), json_body={"user_options": options},
                                   slow=True)
        if response.status_code not in (201, 202):
            raise failed(self.zone, "start", hub_message(response))

    async def progress(self, user: str, server: str) -> AsyncIterator[dict[str, Any]]:
        """The spawn's progress events as the hub sends them (`data:` lines of its event stream)."""
        timeout = self._timeout(STREAM_READ_TIMEOUT)
        try:
            async with self._http.stream("GET", self._url(server_path(user, server) + "/progress"),
                                         headers=self._headers(), timeout=timeout) as response:
                if response.status_code != 200:
                    await response.aread()
                    self._check(response)
                    raise failed(self.zone, "follow the start", hub_message(response))
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        yield json.loads(line[5:])
        except httpx.HTTPError as exc:
            raise self._unreachable(exc, timeout) from None

    async def stop(self, user: str, server: str) -> bool:
        """Ask the zone to stop the server; True when it stopped at once, False while it stops."""
        response = await self.call("DELETE", server_path(user, server), slow=True)
        if response.status_code not in (202, 204):
            raise failed(self.zone, "stop", hub_message(response))
        return response.status_code == 204

    @asynccontextmanager
    async def short_hub_token(self, user: str) -> AsyncIterator[str]:
        """A hub token of the user that only reaches the credits service and expires within a
        minute, revoked on the way out: hub services take hub tokens, not OIDC tokens."""
        response = await self.call("POST", f"users/{quote_name(user)}/tokens", json_body={
            "expires_in": CREDITS_TOKEN_SECONDS, "note": CREDITS_TOKEN_NOTE,
            "scopes": ["access:services!service=credits"]})
        if response.status_code != 201:
            raise failed(self.zone, "get a hub token for the credits service",
                                      hub_message(response))
        created = response.json()
        try:
            yield str(created["token"])
        finally:
            try:
                revoked = await self.call("DELETE", f"users/{quote_name(user)}/tokens/{created['id']}")
                if revoked.status_code != 204:
                    log.warning("%s did not revoke the credits token %s: %s (it expires within %d s)",
                                self.zone.label, created["id"], hub_message(revoked),
                                CREDITS_TOKEN_SECONDS)
            except ClientError as exc:
                log.warning("%s; the credits token %s expires within %d s anyway", exc, created["id"],
                            CREDITS_TOKEN_SECONDS)

    async def has_credits(self) -> bool:
        """Whether the zone runs the credits service, asked without credentials: the service refuses
        (403), while a hub without it redirects the path to its own 404 page. Asked first, so that no
        hub token is made for nothing."""
        try:
            response = await self._http.get(self.zone.url + CREDITS_STATUS)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return response.status_code in (200, 401, 403)

    async def credits_status(self, hub_token: str) -> dict[str, Any]:
        """The user's wallets as the zone's credits service reports them."""
        try:
            response = await self._http.get(self.zone.url + CREDITS_STATUS,
                                            headers={"Authorization": f"token {hub_token}"})
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        self._check(response)
        if response.status_code != 200:
            raise failed(self.zone, "read the credits", hub_message(response))
        return dict(response.json())


def failed(zone: Zone, what: str, message: str) -> OperationFailed:
    """An OperationFailed worded alike for every call: which zone, what the client tried, why."""
    return OperationFailed(f"{zone.label} could not {what}: {message}")
