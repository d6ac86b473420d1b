"""A running server of alice's, from the user environment, shared by the tests of one module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.stack import REPO, Stack, browser_login, hub_api, hub_token, start_server, stop_server

USER_ENV = REPO / ".venv-user"


@dataclass
class Lab:
    """alice's running server: a browser session logged in to it, a server API client, the hub API."""

    browser: httpx.Client
    server: httpx.Client
    hub: httpx.Client
    token: str


def user_env_built() -> None:
    assert (USER_ENV / ".built").exists(), "the user environment is not built: bash scripts/bootstrap.sh"


@pytest.fixture(scope="module")
def lab(stack: Stack) -> Iterator[Lab]:
    user_env_built()
    browser, _ = browser_login(stack, "alice")
    token = hub_token(browser, stack, "alice")
    hub = hub_api(stack, token)
    start_server(hub, "alice")
    assert browser.get(f"{stack.hub_url}/user/alice/lab").status_code == 200  # logs in to the server
    server = httpx.Client(base_url=f"{stack.hub_url}/user/alice/", timeout=60,
                          headers={"Authorization": f"token {token}"})
    yield Lab(browser, server, hub, token)
    stop_server(hub, "alice")
