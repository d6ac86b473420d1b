"""Refresh rotation, revocation, introspection and the password grant of the development IdP."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.idp.conftest import CLI, HUB, OPAQUE, IdpProcess, StartIdp
from tests.idp.flows import (
    PASSWORD,
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


def hub_tokens(http: httpx.Client, username: str = "alice") -> dict[str, Any]:
    pkce = make_pkce()
    code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce), username=username)
    response = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_refresh_rotates_and_reuse_revokes_the_family(idp: IdpProcess) -> None:
    with idp.client() as http:
        first = hub_tokens(http)
        second_response = refresh(http, first["refresh_token"], *HUB_AUTH)
        assert second_response.status_code == 200, second_response.text
        second = second_response.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        claims = verify_with_jwks(http, second["id_token"], HUB.client_id, idp.issuer)
        assert claims["sub"] == "alice" and "nonce" not in claims

        third = refresh(http, second["refresh_token"], *HUB_AUTH)
        assert third.status_code == 200, third.text
        assert introspect(http, second["refresh_token"], HUB_AUTH) == {"active": False}

        replay = refresh(http, first["refresh_token"], *HUB_AUTH)
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"
        # reuse of a rotated token is treated as theft: the newest token dies too
        newest = third.json()
        assert introspect(http, newest["refresh_token"], HUB_AUTH) == {"active": False}
        assert introspect(http, newest["access_token"], HUB_AUTH) == {"active": False}
        assert refresh(http, newest["refresh_token"], *HUB_AUTH).json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_client(idp: IdpProcess) -> None:
    with idp.client() as http:
        tokens = hub_tokens(http)
        stolen = refresh(http, tokens["refresh_token"], OPAQUE.client_id, OPAQUE.client_secret)
        assert stolen.json()["error"] == "invalid_grant"
        assert refresh(http, tokens["refresh_token"], *HUB_AUTH).status_code == 200


def test_revoked_refresh_token_cannot_be_used(idp: IdpProcess) -> None:
    with idp.client() as http:
        tokens = hub_tokens(http)
        response = revoke(http, tokens["refresh_token"], HUB_AUTH, hint="refresh_token")
        assert response.status_code == 200
        again = refresh(http, tokens["refresh_token"], *HUB_AUTH)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert introspect(http, tokens["refresh_token"], HUB_AUTH) == {"active": False}
        # revoking the refresh token revokes the access tokens of the same grant too
        assert introspect(http, tokens["access_token"], HUB_AUTH) == {"active": False}


def test_revoked_access_token_is_inactive(idp: IdpProcess) -> None:
    with idp.client() as http:
        tokens = hub_tokens(http, username="admin")
        active = introspect(http, tokens["access_token"], HUB_AUTH)
        assert active["active"] is True
        assert active["sub"] == "admin" and active["username"] == "admin"
        assert active["client_id"] == HUB.client_id and active["aud"] == HUB.client_id
        assert active["iss"] == idp.issuer
        assert active["token_type"] == "Bearer"
        assert active["scope"] == "openid profile email offline_access"
        assert active["eduperson_entitlement"] == ["admins"]
        assert active["exp"] > time.time()
        assert http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200

        assert revoke(http, tokens["access_token"], HUB_AUTH).status_code == 200
        assert introspect(http, tokens["access_token"], HUB_AUTH) == {"active": False}
        assert http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
        # only the access token was revoked; the refresh token still works
        assert refresh(http, tokens["refresh_token"], *HUB_AUTH).status_code == 200


def test_revocation_of_unknown_tokens_is_ok_and_needs_client_auth(idp: IdpProcess) -> None:
    with idp.client() as http:
        assert revoke(http, "no-such-token", HUB_AUTH).status_code == 200
        unauthenticated = http.post("/revoke", data={"token": "x"})
        assert unauthenticated.status_code in (400, 401)
        assert unauthenticated.json()["error"] == "invalid_client"
        wrong_secret = revoke(http, "x", (HUB.client_id, "nope"))
        assert wrong_secret.status_code == 401


def test_introspection_of_garbage_and_access_control(idp: IdpProcess) -> None:
    with idp.client() as http:
        tokens = hub_tokens(http)
        for garbage in ("garbage", "a.b.c", tokens["access_token"][:-4] + "AAAA"):
            assert introspect(http, garbage, HUB_AUTH) == {"active": False}
        # a public client may not introspect
        public = http.post("/introspect", data={"token": tokens["access_token"],
                                                "client_id": CLI.client_id})
        assert public.status_code in (400, 401)
        assert public.json()["error"] == "invalid_client"
        # any confidential client may (resource servers introspect others' tokens)
        other = introspect(http, tokens["access_token"], (OPAQUE.client_id, OPAQUE.client_secret))
        assert other["active"] is True and other["client_id"] == HUB.client_id


def test_opaque_access_token_introspection_then_revocation(idp: IdpProcess) -> None:
    auth = (OPAQUE.client_id, OPAQUE.client_secret)
    callback = OPAQUE.redirect_uris[0]
    pkce = make_pkce()
    with idp.client() as http:
        code = login_for_code(http, auth_params(OPAQUE.client_id, callback, pkce), username="bob")
        tokens = redeem(http, code, callback, *auth, verifier=pkce.verifier).json()
        opaque = tokens["access_token"]
        assert opaque.count(".") != 2  # not a JWT
        active = introspect(http, opaque, auth, hint="access_token")
        assert active["active"] is True
        assert active["sub"] == "bob" and active["client_id"] == OPAQUE.client_id
        assert active["eduperson_entitlement"] == ["researchers"]
        assert http.get("/userinfo", headers=bearer(opaque)).json()["sub"] == "bob"

        assert revoke(http, opaque, auth, hint="access_token").status_code == 200
        assert introspect(http, opaque, auth) == {"active": False}
        assert http.get("/userinfo", headers=bearer(opaque)).status_code == 401


def test_password_grant_for_the_cli_client(idp: IdpProcess) -> None:
    with idp.client() as http:
        response = http.post("/token", data={
            "grant_type": "password", "client_id": CLI.client_id, "username": "alice",
            "password": PASSWORD, "scope": "openid profile email offline_access",
        })
        assert response.status_code == 200, response.text
        tokens = response.json()
        claims = verify_with_jwks(http, tokens["access_token"], CLI.client_id, idp.issuer)
        assert claims["sub"] == "alice" and claims["eduperson_entitlement"] == ["researchers"]
        assert verify_with_jwks(http, tokens["id_token"], CLI.client_id, idp.issuer)["sub"] == (
            "alice"
        )
        rotated = refresh(http, tokens["refresh_token"], CLI.client_id)
        assert rotated.status_code == 200, rotated.text
        # the public CLI client can revoke its own refresh token (`notebooks logout`)
        latest = rotated.json()["refresh_token"]
        revoked = http.post("/revoke", data={"token": latest, "client_id": CLI.client_id})
        assert revoked.status_code == 200
        assert refresh(http, latest, CLI.client_id).json()["error"] == "invalid_grant"

        wrong = http.post("/token", data={
            "grant_type": "password", "client_id": CLI.client_id, "username": "alice",
            "password": "wrong",
        })
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        assert "access_token" not in wrong.json()


def test_password_grant_refused_for_clients_without_it(idp: IdpProcess) -> None:
    with idp.client() as http:
        response = http.post("/token", auth=HUB_AUTH, data={
            "grant_type": "password", "username": "alice", "password": PASSWORD,
        })
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert "access_token" not in response.json()


def test_expired_refresh_token_and_code(start_idp: StartIdp) -> None:
    idp = start_idp(refresh_token_lifetime=1, authorization_code_lifetime=1)
    with idp.client() as http:
        tokens = hub_tokens(http)
        pkce = make_pkce()
        late_code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce))
        time.sleep(2.2)
        expired = refresh(http, tokens["refresh_token"], *HUB_AUTH)
        assert expired.status_code == 400
        assert expired.json()["error"] == "invalid_grant"
        assert introspect(http, tokens["refresh_token"], HUB_AUTH) == {"active": False}
        late = redeem(http, late_code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier)
        assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_a_refresh_whose_answer_was_lost_can_be_repeated_once(idp: IdpProcess) -> None:
    """A client whose refresh timed out after the IdP rotated the token repeats it with the old
    token: it gets new tokens, the ones it never received die, and a third use is theft."""
    with idp.client() as http:
        first = hub_tokens(http)
        lost = refresh(http, first["refresh_token"], *HUB_AUTH)
        assert lost.status_code == 200, lost.text
        repeated = refresh(http, first["refresh_token"], *HUB_AUTH)
        assert repeated.status_code == 200, repeated.text
        fresh = repeated.json()
        assert fresh["refresh_token"] != lost.json()["refresh_token"]
        assert introspect(http, lost.json()["refresh_token"], HUB_AUTH) == {"active": False}
        assert introspect(http, fresh["refresh_token"], HUB_AUTH)["active"] is True

        again = refresh(http, first["refresh_token"], *HUB_AUTH)
        assert again.json()["error"] == "invalid_grant"
        assert introspect(http, fresh["refresh_token"], HUB_AUTH) == {"active": False}, \
            "a second repetition is a replay: the family is revoked"


def test_a_thief_repeating_a_refresh_loses_the_session_at_the_real_clients_next_refresh(
        idp: IdpProcess) -> None:
    with idp.client() as http:
        first = hub_tokens(http)
        received = refresh(http, first["refresh_token"], *HUB_AUTH).json()  # the client got it
        stolen = refresh(http, first["refresh_token"], *HUB_AUTH)  # a thief repeats the refresh
        assert stolen.status_code == 200, stolen.text
        assert refresh(http, received["refresh_token"], *HUB_AUTH).json()["error"] == "invalid_grant"
        assert introspect(http, stolen.json()["refresh_token"], HUB_AUTH) == {"active": False}
        assert introspect(http, stolen.json()["access_token"], HUB_AUTH) == {"active": False}
