"""Asks the hub's token-release service for the owner's current token, with this server's own token."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import httpx

from notebooks_service.tokens.contract import (
    RELEASE_URL_ENV,
    ReleasedToken,
    refusal_reason,
    release_headers,
    release_path,
)

log = logging.getLogger(__name__)


class NotReleased(Exception):
    """The service refused or could not answer; `status` and the message are shown in the panel."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


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
            service_url=os.environ.get(RELEASE_URL_ENV, ""),
        )

    @property
    def token_url(self) -> str:
        return self.service_url.rstrip("/") + "/" + release_path(self.owner, self.server)


async def fetch_token(identity: ServerIdentity, timeout: float = 15) -> ReleasedToken:
    if not identity.service_url or not identity.api_token:
        raise NotReleased(503, "this server was not started by a hub with the token service")
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(identity.token_url, headers=release_headers(identity.api_token))
    except httpx.HTTPError as exc:
        log.warning("GET %s failed: %s", identity.token_url, type(exc).__name__)
        raise NotReleased(503, "the hub's token service cannot be reached; try again shortly") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        log.info("GET %s: HTTP %s", identity.token_url, response.status_code)
        raise NotReleased(response.status_code, refusal_reason(body, response.status_code))
    return ReleasedToken.from_answer(body)
