"""Helpers for tests where one user enters another user's server through a JupyterHub share."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tests.stack import Stack

_XSRF_INPUT = re.compile(r'name="_xsrf"\s+value="([^"]*)"')


def server_status(client: httpx.Client, stack: Stack, owner: str) -> int:
    """HTTP status `client` gets from `owner`'s server: JupyterLab's page for a browser session (which
    logs in to the server through the hub's OAuth), the contents API for a client with a token."""
    path = "api/contents" if "Authorization" in client.headers else "lab"
    return client.get(f"{stack.hub_url}/user/{owner}/{path}").status_code


def accept_share_code(client: httpx.Client, stack: Stack, accept_url: str) -> httpx.Response:
    """Accept a share code the way a browser does: open the hub's accept page and submit its form."""
    page = client.get(f"{stack.hub_url}{accept_url}")
    assert page.status_code == 200, page.text[:500]
    match = _XSRF_INPUT.search(page.text)
    assert match, f"no accept form on the page:\n{page.text[:2000]}"
    code = accept_url.split("code=", 1)[1]
    return client.post(str(page.url), data={"_xsrf": unescape(match.group(1)), "code": code})
