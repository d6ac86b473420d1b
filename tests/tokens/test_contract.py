"""The token contract: the server side reads what the hub side writes, because both import one module,
and that module loads in a user's server, whose environment is not the hub's."""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

import notebooks_service
import notebooks_service.tokens
from notebooks_service.singleuser.release_client import NotReleased, ServerIdentity, fetch_token
from notebooks_service.tokens import contract
from notebooks_service.tokens.contract import ReleasedToken
from notebooks_service.tokens.release.app import make_app

PREFIX = "/services/tokens/"
OWNER = "ada+lovelace@example.org"
"""A hub name with characters that must be quoted in the release path."""
SERVER = "gpu-1"
SERVER_TOKEN = "the-servers-own-hub-token"
EXPIRES_AT = 4_102_444_800.0
"""2100-01-01: the release service hands out no token that has expired, whenever this runs."""


class OneServerHub:
    """The hub as the release service reads it: `OWNER`'s named server runs, unshared, and asks with its
    own token."""

    async def whoami(self, token: str) -> dict[str, Any] | None:
        if token != SERVER_TOKEN:
            return None
        return {"kind": "user", "name": OWNER, "scopes": [f"access:servers!server={OWNER}/{SERVER}"]}

    async def user(self, name: str) -> dict[str, Any] | None:
        return {"name": name, "servers": {SERVER: {"ready": True, "state": {}}},
                "auth_state": {"access_token": "eyJ.released", "access_token_expires_at": EXPIRES_AT}}

    async def is_shared(self, owner: str, server: str) -> bool:
        return False


@pytest.fixture
async def release_url() -> AsyncIterator[str]:
    """The hub side's release service, in this process, as a server finds it in its environment."""
    sock, port = bind_unused_port()
    server = HTTPServer(make_app(OneServerHub(), PREFIX))
    server.add_sockets([sock])
    yield f"http://127.0.0.1:{port}{PREFIX}"
    server.stop()


async def test_the_server_reads_the_token_the_release_service_answers(release_url: str) -> None:
    identity = ServerIdentity(owner=OWNER, server=SERVER, api_token=SERVER_TOKEN, service_url=release_url)
    assert await fetch_token(identity) == ReleasedToken(access_token="eyJ.released", expires_at=EXPIRES_AT)


async def test_the_server_shows_the_reason_the_release_service_gives(release_url: str) -> None:
    identity = ServerIdentity(owner=OWNER, server=SERVER, api_token="someone-elses", service_url=release_url)
    with pytest.raises(NotReleased, match="not a valid hub token") as refused:
        await fetch_token(identity)
    assert refused.value.status == 403


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module's absolute imports name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_the_contract_loads_with_the_standard_library_alone() -> None:
    """User servers import it from their own environment: nothing of the hub's may come with it, nor
    with the packages above it, which Python imports first. Even a module of this package would bring
    its own imports, so only the standard library passes."""
    for module in (contract, notebooks_service, notebooks_service.tokens):
        source = Path(inspect.getfile(module))
        assert imported_packages(source) <= set(sys.stdlib_module_names), source
