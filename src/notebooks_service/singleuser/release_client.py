"""Asks the hub's token-release service for the owner's current token, with this server's own token."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

SERVICE_URL_ENV = "NOTEBOOKS_TOKENS_URL"


class NotReleased(Exception):
    """The service refused or could not answer; `status` and the message are shown in the panel."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class ReleasedToken:
    access_token: str
    expires_at: float


@dataclass(frozen=True)
class ServerIdentity:
    """Who this server is, as the hub told it at start."""

    owner: str
    server: str
    api_token: str
    service_url: str

    @classmethod
    def from_environment(cls) -> ServerIdentity:
        return cls(
            owner=os.environ.get("JUPYTERHUB_USER", ""),
            server=os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
            api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""),
            service_url=os.environ.get(SERVICE_URL_ENV, ""),
        )

    @property
    def token_url(self) -> str:
        path = f"api/token/{quote(self.owner, safe='')}"
        if self.server:
            path += f"/{quote(self.server, safe='')}"
        return self.service_url.rstrip("/") + "/" + path


async def fetch_token(identity: ServerIdentity, timeout: float = 15) -> ReleasedToken:
    if not identity.service_url or not identity.api_token:
        raise NotReleased(503, "this server was not started by a hub with the token service")
    headers = {"Authorization": f"token {identity.api_token}"}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(identity.token_url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("GET %s failed: %s", identity.token_url, type(exc).__name__)
        raise NotReleased(503, "the hub's token service cannot be reached; try again shortly") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        log.info("GET %s: HTTP %s", identity.token_url, response.status_code)
        raise NotReleased(response.status_code, str(body.get("reason") or f"HTTP {response.status_code}"))
    return ReleasedToken(access_token=body["access_token"], expires_at=float(body["expires_at"]))
