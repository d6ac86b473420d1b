"""Helpers for tests where one user enters another user's server through a JupyterHub share."""

from __future__ import annotations

import re
from html import unescape

import httpx

from notebooks_service.hub.sharing import REVOCATION_DELAY
from tests.stack import Stack, wait_until

_HIDDEN = re.compile(r"<input[^>]*type=\"hidden\"[^>]*>", re.I)
_ATTR = re.compile(r"(name|value)=\"([^\"]*)\"")
_AUTHORIZE_PATH = "/hub/api/oauth2/authorize"


def submit_hub_form(client: httpx.Client, page: httpx.Response) -> httpx.Response:
    """Submit the single form of a hub page (accept a share, authorize a server) with its hidden inputs."""
    fields: dict[str, list[str]] = {}
    for tag in _HIDDEN.findall(page.text):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs:
            fields.setdefault(attrs["name"], []).append(unescape(attrs.get("value", "")))
    assert "_xsrf" in fields, f"no hub form on the page:\n{page.text[:2000]}"
    return client.post(str(page.url), data=fields)


def open_server(client: httpx.Client, stack: Stack, owner: str) -> httpx.Response:
    """Open `owner`'s JupyterLab in a browser session, confirming the hub's authorization page if it asks
    (the hub asks a collaborator once per server before the server learns who they are)."""
    response = client.get(f"{stack.hub_url}/user/{owner}/lab")
    if response.status_code == 200 and response.url.path == _AUTHORIZE_PATH:
        response = submit_hub_form(client, response)
    return response


def server_status(client: httpx.Client, stack: Stack, owner: str) -> int:
    """HTTP status `client` gets from `owner`'s server: JupyterLab's page for a browser session, the
    contents API for a client with a token."""
    if "Authorization" in client.headers:
        return client.get(f"{stack.hub_url}/user/{owner}/api/contents").status_code
    return open_server(client, stack, owner).status_code


def accept_share_code(client: httpx.Client, stack: Stack, accept_url: str) -> httpx.Response:
    """Accept a share code the way a browser does: open the hub's accept page and submit its form."""
    page = client.get(f"{stack.hub_url}{accept_url}")
    assert page.status_code == 200, page.text[:500]
    return submit_hub_form(client, page)


def wait_for_status(client: httpx.Client, stack: Stack, owner: str, status: int) -> None:
    """Wait until `client` gets `status` from `owner`'s server, which caches the hub's answers about a
    token or cookie for up to `REVOCATION_DELAY` seconds (a share can take as long to apply or to end)."""
    wait_until(lambda: server_status(client, stack, owner) == status, REVOCATION_DELAY + 15,
               what=f"{status} from {owner}'s server")
