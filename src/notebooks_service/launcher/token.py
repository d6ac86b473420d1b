"""`notebooks token`: an access token for a demo user, from the running development IdP.

Uses the resource-owner password grant of the IdP's public `notebooks-cli` client; that grant exists only
in the development IdP, which is why this command is for local use and tests.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from notebooks_service.launcher.layout import DataDir
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.oidc.discovery import DiscoveryError, discover


class TokenError(Exception):
    pass


def fetch_token(data_dir: Path, username: str, password: str) -> str:
    runtime_file = DataDir(data_dir.expanduser().resolve()).runtime_file
    if not runtime_file.exists():
        raise TokenError(f"no running service found in {data_dir}: start it with `notebooks up`")
    runtime = Runtime.load(runtime_file)
    try:
        token_endpoint = discover(runtime.issuer, timeout=5).token_endpoint
    except DiscoveryError as exc:
        raise TokenError(f"{exc} (is `notebooks up` running?)") from None
    try:
        response = httpx.post(token_endpoint, timeout=10, data={
            "grant_type": "password",
            "client_id": runtime.cli_client_id,
            "username": username,
            "password": password,
            "scope": "openid profile email",
        })
    except httpx.HTTPError as exc:
        raise TokenError(f"cannot reach {token_endpoint}: {exc}") from None
    body = response.json() if response.headers.get("content-type", "").startswith(
        "application/json") else {}
    if response.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        raise TokenError(f"the identity provider refused to issue a token for {username}: {reason}")
    return str(body["access_token"])
