"""What the hub and a user's server agree on about the owner's tokens, written once for both sides.

The hub side (`tokens.delivery`, `tokens.sink`, the release service in `tokens.release`) writes the
token files, names them in the server's environment and answers a server that asks for the current
token; the server side (`singleuser`) reads those variables and files and asks. Spelled apart on each
side, a renamed file or answer field would break the panel only in a running server, where no fast
test looks; importing one module makes both sides change together.

This module is imported inside user servers, whose environment (`.venv-user/`, the user image) is
built apart from the hub's, so it uses the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

ACCESS_TOKEN_FILE = "access_token"
ID_TOKEN_FILE = "id_token"
TOKEN_FILES = (ACCESS_TOKEN_FILE, ID_TOKEN_FILE)
"""Every file of a server's token directory: the hub writes them all, so nothing else may."""

ACCESS_TOKEN_FILE_ENV = "OIDC_ACCESS_TOKEN_FILE"
ID_TOKEN_FILE_ENV = "OIDC_ID_TOKEN_FILE"
"""Set in a server that mounts its owner's tokens: the full path of each file as the server sees it."""

RELEASE_URL_ENV = "NOTEBOOKS_TOKENS_URL"
"""The release service's base URL as a server reaches it, with a trailing slash."""

RELEASE_ROUTE = r"api/token/([^/]+)(?:/([^/]+))?/?"
"""The release endpoint below the service's URL, `api/token/<owner>[/<server>]` (see `release_path`)."""

RELEASE_AUTH_SCHEMES = ("token", "bearer")
"""Schemes the release service accepts for the asking server's own hub token; servers send the first."""

REFUSAL_FIELD = "reason"
"""The one field of a refusal's JSON body: why, worded for the person reading the panel."""


def release_path(owner: str, server: str) -> str:
    """The path `RELEASE_ROUTE` matches for `owner`'s server `server` (empty: the default server);
    names are quoted so that no character in them can start another path segment."""
    path = f"api/token/{quote(owner, safe='')}"
    return f"{path}/{quote(server, safe='')}" if server else path


def release_headers(api_token: str) -> dict[str, str]:
    """The headers a server asks with: its own hub token, `$JUPYTERHUB_API_TOKEN`."""
    return {"Authorization": f"{RELEASE_AUTH_SCHEMES[0]} {api_token}"}


@dataclass(frozen=True)
class ReleasedToken:
    """The release service's answer to a server it trusts (HTTP 200)."""

    access_token: str
    expires_at: float
    """Epoch seconds; 0 when the identity provider gave no lifetime."""

    def answer(self) -> dict[str, Any]:
        """The JSON body that carries it."""
        return {"access_token": self.access_token, "expires_at": self.expires_at}

    @classmethod
    def from_answer(cls, body: Mapping[str, Any]) -> ReleasedToken:
        return cls(access_token=str(body["access_token"]), expires_at=float(body["expires_at"]))


def refusal_answer(reason: str) -> dict[str, str]:
    """The JSON body of any other answer of the release service."""
    return {REFUSAL_FIELD: reason}


def refusal_reason(body: Any, status: int) -> str:
    """The reason a refusal gives, or the bare status when the body has none (a proxy's error page)."""
    reason = body.get(REFUSAL_FIELD) if isinstance(body, Mapping) else None
    return str(reason or f"HTTP {status}")
