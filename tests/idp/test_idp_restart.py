"""State of the development IdP survives a restart: signing key, refresh tokens, revocations."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import jwt

from tests.idp.conftest import HUB, StartIdp
from tests.idp.flows import (
    auth_params,
    introspect,
    login_for_code,
    make_pkce,
    redeem,
    refresh,
    revoke,
    verify_with_jwks,
)

HUB_AUTH = (HUB.client_id, HUB.client_secret)
HUB_CB = HUB.redirect_uris[0]


def test_key_and_refresh_token_survive_restart(start_idp: StartIdp) -> None:
    idp = start_idp()
    pkce = make_pkce()
    with idp.client() as http:
        kid = http.get("/jwks").json()["keys"][0]["kid"]
        code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce))
        tokens = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier).json()
        doomed = redeem(
            http,
            login_for_code(http, auth_params(HUB.client_id, HUB_CB, (p := make_pkce()))),
            HUB_CB, *HUB_AUTH, verifier=p.verifier,
        ).json()
        assert revoke(http, doomed["access_token"], HUB_AUTH).status_code == 200
        browser_cookies = httpx.Cookies(http.cookies)

    state = Path(idp.settings.state_dir)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "signing-key.pem").stat().st_mode) == 0o600
    assert (state / "state.sqlite").exists()
    raw = (state / "state.sqlite").read_bytes()
    assert tokens["refresh_token"].encode() not in raw  # only hashes are stored

    idp.restart()
    assert idp.exit_codes == [0]

    with idp.client() as http:
        http.cookies = browser_cookies
        assert http.get("/jwks").json()["keys"][0]["kid"] == kid
        # a token issued before the restart still verifies and introspects
        verify_with_jwks(http, tokens["access_token"], HUB.client_id, idp.issuer)
        assert introspect(http, tokens["access_token"], HUB_AUTH)["active"] is True
        assert introspect(http, doomed["access_token"], HUB_AUTH) == {"active": False}
        renewed = refresh(http, tokens["refresh_token"], *HUB_AUTH)
        assert renewed.status_code == 200, renewed.text
        assert jwt.get_unverified_header(renewed.json()["access_token"])["kid"] == kid
        # the session cookie was signed with a persisted secret, so the browser stays logged in
        again = http.get("/authorize", params=auth_params(HUB.client_id, HUB_CB, make_pkce()))
        assert again.status_code == 302 and "code=" in again.headers["location"]


def test_sigterm_exits_cleanly(start_idp: StartIdp) -> None:
    idp = start_idp()
    assert idp.stop() == 0
    try:
        httpx.get(f"{idp.issuer}/healthz", timeout=1)
        reachable = True
    except httpx.TransportError:
        reachable = False
    assert not reachable
    assert "NOT FOR PRODUCTION" in idp.log_path.read_text()
