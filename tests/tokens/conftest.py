"""One short-lifetime service for the token tests, and helpers to look inside a user's server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_USERS
from tests.stack import Stack, browser_login, hub_api, hub_token, make_stack, verify_with_jwks, wait_until

LIFETIME = 8
"""Seconds an access token lives: short, so that many refreshes happen during a test."""
USERS = [*DEMO_USERS, {"username": "dave", "email": "dave@example.org", "name": "Dave",
                       "groups": ["researchers"]}]


@pytest.fixture(scope="package")
def token_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The service with access and ID tokens valid for LIFETIME seconds and a GCUBE_TOKEN mapping."""
    service = make_stack(tmp_path_factory.mktemp("tokens"), "tokens", sections={
        "service": {"auth_refresh_age": 1},
        "dev_idp": {"access_token_lifetime": LIFETIME, "id_token_lifetime": LIFETIME},
        "tokens": {"retry_initial_delay": 1.0, "retry_max_delay": 4.0},
    }, users=USERS)
    with service.config_path.open("a", encoding="utf-8") as config:  # a table the test writer lacks
        config.write('[tokens.env_tokens]\nGCUBE_TOKEN = "access_token"\n')
    service.start()
    yield service
    service.stop()


@dataclass
class Session:
    """A logged-in user: their browser cookies and a hub API client with their token."""

    name: str
    browser: httpx.Client
    api: httpx.Client
    token: str


def login(stack: Stack, name: str) -> Session:
    browser, _ = browser_login(stack, name)
    token = hub_token(browser, stack, name)
    return Session(name, browser, hub_api(stack, token), token)


@pytest.fixture(scope="package")
def admin(token_stack: Stack) -> Session:
    return login(token_stack, "admin")


def spawn(session: Session, mount: bool | None, timeout: float = 120) -> dict:
    """Start the default server, with `mount_access_token` if given; waits until ready."""
    options = {} if mount is None else {"mount_access_token": mount}
    response = session.api.post(f"/users/{session.name}/server", json=options)
    assert response.status_code in (201, 202), response.text
    return wait_until(
        lambda: (session.api.get(f"/users/{session.name}").json()["servers"].get("") or {}).get("ready"),
        timeout, what=f"{session.name}'s server")


def token_dir(stack: Stack, name: str) -> Path:
    """The server's token directory on the host."""
    return stack.data_dir / "secrets-run" / name


def server_token_dir(stack: Stack, name: str) -> str:
    """The token directory as the server sees it: the seeds' path in its sandbox (service as root),
    the host path in the single-person trial."""
    return "/var/run/secrets/oidc" if os.geteuid() == 0 else str(token_dir(stack, name))


def server_environ(admin: Session, name: str) -> dict[str, str]:
    """The environment of a user's running server process, read from /proc."""
    state = admin.api.get(f"/users/{name}").json()["servers"][""]["state"]
    raw = Path(f"/proc/{state['pid']}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def hub_client_auth(stack: Stack) -> tuple[str, str]:
    secret = (stack.data_dir / "secrets" / "hub_client_secret").read_text().strip()
    return ("notebooks-hub", secret)


def introspect(stack: Stack, token: str) -> dict:
    response = httpx.post(f"{stack.issuer}/introspect", auth=hub_client_auth(stack),
                          data={"token": token, "token_type_hint": "access_token"})
    assert response.status_code == 200, response.text
    return response.json()


def read_token(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def valid_for(stack: Stack, token: str) -> float:
    """Seconds the token is still valid (negative once expired), per its verified `exp`."""
    return verify_with_jwks(stack, token)["exp"] - time.time() if token else -1


def requests_by(stack: Stack, name: str, log_offset: int) -> list[str]:
    """Requests the hub logged as made by `name` after `log_offset` characters of the log."""
    return [line for line in stack.log()[log_offset:].splitlines() if f"({name}@" in line]
