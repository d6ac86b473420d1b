"""The hub REST API as the release service reads it, with the service's own token."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)


class HubUnavailable(Exception):
    """The hub API did not answer as expected."""


class HubApi:
    """Implements `core.HubView` over HTTP."""

    def __init__(self, api_url: str, token: str, timeout: float = 10) -> None:
        self._client = httpx.AsyncClient(base_url=api_url.rstrip("/") + "/", timeout=timeout,
                                         headers={"Authorization": f"token {token}"})

    async def _get(self, path: str, token: str | None = None) -> dict[str, Any] | None:
        headers = {"Authorization": f"token {token}"} if token else None
        try:
            response = await self._client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise HubUnavailable(f"GET {path}: {type(exc).__name__}") from None
        if response.status_code in (401, 403, 404):
            return None
        if response.status_code != 200:
            log.warning("GET %s: HTTP %s", path, response.status_code)
            raise HubUnavailable(f"GET {path}: HTTP {response.status_code}")
        return response.json()

    async def whoami(self, token: str) -> dict[str, Any] | None:
        return await self._get("user", token=token)

    async def user(self, name: str) -> dict[str, Any] | None:
        return await self._get(f"users/{quote(name, safe='')}")

    async def is_shared(self, owner: str, server: str) -> bool:
        path = f"{quote(owner, safe='')}/{quote(server, safe='')}"
        for kind in ("shares", "share-codes"):
            listing = await self._get(f"{kind}/{path}")
            if listing is None:
                raise HubUnavailable(f"cannot read the {kind} of {owner}/{server}")
            if listing.get("items"):
                return True
        return False

    async def close(self) -> None:
        await self._client.aclose()
