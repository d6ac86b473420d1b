"""OAuth/OIDC client-side steps the IdP tests share (no server runs at the redirect URIs)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

PASSWORD = "notebooks"  # the schema's default demo password


@dataclass
class Pkce:
    verifier: str
    challenge: str


def make_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def auth_params(
    client_id: str, redirect_uri: str, pkce: Pkce | None, **extra: str
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email offline_access",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    if pkce is not None:
        params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def query_of(response: httpx.Response) -> dict[str, str]:
    """The query parameters of a redirect's Location header."""
    assert response.status_code == 302, (response.status_code, response.text)
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def login(
    http: httpx.Client, params: dict[str, str], username: str = "alice", password: str = PASSWORD
) -> httpx.Response:
    """Open the login form, then post the credentials; returns the POST response.

    `prompt=login` makes the form appear even when the client already holds a session cookie.
    """
    params = {"prompt": "login", **params}
    form = http.get("/authorize", params=params)
    assert form.status_code == 200, form.text
    assert 'name="password"' in form.text
    return http.post(
        "/authorize", params=params, data={"username": username, "password": password}
    )


def login_for_code(http: httpx.Client, params: dict[str, str], username: str = "alice") -> str:
    redirect = query_of(login(http, params, username))
    assert redirect["state"] == params["state"]
    return redirect["code"]


def redeem(
    http: httpx.Client,
    code: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str = "",
    verifier: str | None = None,
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = (client_id, client_secret) if client_secret else None
    if not client_secret:
        data["client_id"] = client_id
    return http.post("/token", data=data, auth=auth)


def refresh(
    http: httpx.Client, refresh_token: str, client_id: str, client_secret: str = ""
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if client_secret:
        return http.post("/token", data=data, auth=(client_id, client_secret))
    return http.post("/token", data={**data, "client_id": client_id})


def introspect(
    http: httpx.Client, token: str, auth: tuple[str, str], hint: str | None = None
) -> dict[str, Any]:
    data = {"token": token} | ({"token_type_hint": hint} if hint else {})
    response = http.post("/introspect", data=data, auth=auth)
    assert response.status_code == 200, response.text
    return response.json()


def revoke(
    http: httpx.Client, token: str, auth: tuple[str, str], hint: str | None = None
) -> httpx.Response:
    data = {"token": token} | ({"token_type_hint": hint} if hint else {})
    return http.post("/revoke", data=data, auth=auth)


def verify_with_jwks(http: httpx.Client, token: str, audience: str, issuer: str) -> dict[str, Any]:
    """Verify an RS256 JWT against the IdP's published JWKS, as a relying party would."""
    keys = http.get("/jwks").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in keys if k["kid"] == kid]
    key = jwt.PyJWK(jwk)
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)
