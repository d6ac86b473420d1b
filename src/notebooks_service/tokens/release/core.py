"""Who may have the owner's token: only the owner's unshared server, asking with its own token.

Every refusal carries a reason meant for the person reading the JupyterLab panel.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from notebooks_service.tokens.contract import ReleasedToken
from notebooks_service.tokens.delivery import EXPOSED_STATE_KEY


class Refusal(Exception):
    """The token is not released; `status` and the message go back to the caller."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class HubView(Protocol):
    """The facts the decision needs, read from the hub's REST API (`services.hub_api.HubApi`)."""

    async def whoami(self, token: str) -> dict[str, Any] | None: ...

    async def user(self, name: str) -> dict[str, Any] | None: ...

    async def is_shared(self, owner: str, server: str) -> bool: ...


def server_scope(owner: str, server: str) -> str:
    return f"access:servers!server={owner}/{server}"


def check_caller(identity: dict[str, Any] | None, owner: str, server: str) -> None:
    """The caller must be a token of `owner` issued to the server `owner/server` (its API token)."""
    if identity is None:
        raise Refusal(403, "the token presented is not a valid hub token")
    if identity.get("kind") != "user" or identity.get("name") != owner:
        raise Refusal(403, f"only {owner}'s own server may ask for {owner}'s token")
    scopes = set(identity.get("scopes") or [])
    if server_scope(owner, server) not in scopes:
        raise Refusal(403, "ask with the server's own token ($JUPYTERHUB_API_TOKEN of that server)")


def check_server(model: dict[str, Any] | None, owner: str, server: str) -> None:
    """The server must be running and never shared since it started."""
    servers = (model or {}).get("servers") or {}
    entry = servers.get(server)
    if not entry or not entry.get("ready"):
        raise Refusal(403, f"the server {owner}/{server} is not running")
    if (entry.get("state") or {}).get(EXPOSED_STATE_KEY):
        raise Refusal(403, "this server was shared since it started, so it no longer gets your token; "
                      "restart it to get the token here again")


async def release(hub: HubView, caller_token: str, owner: str, server: str) -> ReleasedToken:
    """The owner's current access token, or Refusal saying why not."""
    check_caller(await hub.whoami(caller_token), owner, server)
    model = await hub.user(owner)
    check_server(model, owner, server)
    if await hub.is_shared(owner, server):
        raise Refusal(403, "the server is shared with other people, so your token is not released in it")
    auth_state = (model or {}).get("auth_state") or {}
    token = auth_state.get("access_token")
    expires_at = float(auth_state.get("access_token_expires_at") or 0)
    if not token or (expires_at and expires_at <= time.time()):
        raise Refusal(503, "the hub holds no valid token for you: log in to the hub again")
    return ReleasedToken(access_token=token, expires_at=expires_at)
