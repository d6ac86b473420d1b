"""Authorization code flow of the development IdP, driven over HTTP like a browser and an RP."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt

from tests.idp.conftest import HUB, SPA, IdpProcess
from tests.idp.flows import (
    PASSWORD,
    auth_params,
    introspect,
    login,
    login_for_code,
    make_pkce,
    query_of,
    redeem,
    verify_with_jwks,
)

HUB_AUTH = (HUB.client_id, HUB.client_secret)
HUB_CB = HUB.redirect_uris[0]
SPA_CB = SPA.redirect_uris[0]


def test_discovery_document_and_health(idp: IdpProcess) -> None:
    with idp.client() as http:
        assert http.get("/healthz").text == "ok"
        doc = http.get("/.well-known/openid-configuration").json()
    issuer = idp.issuer
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == f"{issuer}/authorize"
    assert doc["token_endpoint"] == f"{issuer}/token"
    assert doc["userinfo_endpoint"] == f"{issuer}/userinfo"
    assert doc["jwks_uri"] == f"{issuer}/jwks"
    assert doc["introspection_endpoint"] == f"{issuer}/introspect"
    assert doc["revocation_endpoint"] == f"{issuer}/revoke"
    assert doc["end_session_endpoint"] == f"{issuer}/logout"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"authorization_code", "refresh_token", "password"} <= set(doc["grant_types_supported"])
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "none",
    }
    assert {"openid", "profile", "email", "offline_access"} <= set(doc["scopes_supported"])
    assert "eduperson_entitlement" in doc["claims_supported"]


def test_jwks_publishes_rfc7638_kid(idp: IdpProcess) -> None:
    with idp.client() as http:
        (key,) = http.get("/jwks").json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key and "p" not in key
    canonical = json.dumps({"e": key["e"], "kty": "RSA", "n": key["n"]}, separators=(",", ":"))
    thumb = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    assert key["kid"] == thumb.decode()


def test_login_page_shows_not_for_production_banner(idp: IdpProcess) -> None:
    pkce = make_pkce()
    with idp.client() as http:
        page = http.get("/authorize", params=auth_params(HUB.client_id, HUB_CB, pkce))
    assert page.status_code == 200
    assert "Development identity provider — not for production" in page.text


def test_code_flow_with_pkce_issues_verifiable_tokens(idp: IdpProcess) -> None:
    pkce = make_pkce()
    params = auth_params(HUB.client_id, HUB_CB, pkce)
    with idp.client() as http:
        code = login_for_code(http, params)
        response = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier)
        assert response.status_code == 200, response.text
        tokens = response.json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 300
        assert tokens["scope"] == "openid profile email offline_access"
        assert tokens["refresh_token"]
        access = verify_with_jwks(http, tokens["access_token"], HUB.client_id, idp.issuer)
        id_token = verify_with_jwks(http, tokens["id_token"], HUB.client_id, idp.issuer)
        kid = http.get("/jwks").json()["keys"][0]["kid"]

    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == kid
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == kid
    for claims in (access, id_token):
        assert claims["sub"] == "alice"
        assert claims["preferred_username"] == "alice"
        assert claims["email"] == "alice@example.org"
        assert claims["name"] == "Alice Demo"
        assert claims["eduperson_entitlement"] == ["researchers"]
    assert access["client_id"] == HUB.client_id
    assert access["scope"] == "openid profile email offline_access"
    assert access["exp"] - access["iat"] == 300
    assert access["nbf"] <= access["iat"] + 1
    assert access["jti"]
    assert id_token["nonce"] == params["nonce"]
    assert id_token["auth_time"] <= id_token["iat"]
    assert id_token["exp"] - id_token["iat"] == 300


def test_public_client_code_flow_without_secret(idp: IdpProcess) -> None:
    pkce = make_pkce()
    with idp.client() as http:
        code = login_for_code(http, auth_params(SPA.client_id, SPA_CB, pkce), username="admin")
        response = redeem(http, code, SPA_CB, SPA.client_id, verifier=pkce.verifier)
        assert response.status_code == 200, response.text
        claims = verify_with_jwks(http, response.json()["id_token"], SPA.client_id, idp.issuer)
    assert claims["eduperson_entitlement"] == ["admins"]


def test_userinfo(idp: IdpProcess) -> None:
    pkce = make_pkce()
    with idp.client() as http:
        code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce), username="bob")
        tokens = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier).json()
        info = http.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        anonymous = http.get("/userinfo")
        forged = http.get("/userinfo", headers={"Authorization": "Bearer not-a-token"})
    assert info.status_code == 200
    body = info.json()
    assert {k: body.get(k) for k in ("sub", "preferred_username", "email", "name")} == {
        "sub": "bob", "preferred_username": "bob", "email": "bob@example.org", "name": "Bob Demo",
    }
    assert body["eduperson_entitlement"] == ["researchers"]
    assert anonymous.status_code == 401
    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_token"


def test_session_cookie_skips_form_unless_prompt_login_and_logout_clears_it(
    idp: IdpProcess,
) -> None:
    with idp.client() as http:
        first = login_for_code(http, auth_params(HUB.client_id, HUB_CB, make_pkce()))
        assert first
        again = http.get("/authorize", params=auth_params(HUB.client_id, HUB_CB, make_pkce()))
        assert "code" in query_of(again)
        forced = http.get(
            "/authorize", params=auth_params(HUB.client_id, HUB_CB, make_pkce(), prompt="login")
        )
        assert forced.status_code == 200 and 'name="password"' in forced.text

        refused = http.get(
            "/logout", params={"post_logout_redirect_uri": "https://evil.example/after"}
        )
        assert refused.status_code == 200 and "signed out" in refused.text
        after = http.get("/authorize", params=auth_params(HUB.client_id, HUB_CB, make_pkce()))
        assert after.status_code == 200 and 'name="password"' in after.text

        login_for_code(http, auth_params(HUB.client_id, HUB_CB, make_pkce()))
        back = http.get(
            "/logout", params={"post_logout_redirect_uri": "http://127.0.0.1:9/hub/logged-out"}
        )
        assert back.status_code == 302
        assert back.headers["location"] == "http://127.0.0.1:9/hub/logged-out"
        none = http.get(
            "/authorize", params=auth_params(HUB.client_id, HUB_CB, make_pkce(), prompt="none")
        )
        assert query_of(none)["error"] == "login_required"


def test_wrong_password_and_unknown_user_get_401_and_no_code(idp: IdpProcess) -> None:
    params = auth_params(HUB.client_id, HUB_CB, make_pkce())
    with idp.client() as http:
        for username, password in [("alice", "wrong"), ("mallory", PASSWORD)]:
            response = login(http, params, username, password)
            assert response.status_code == 401
            assert "Invalid username or password." in response.text
            assert "location" not in response.headers
        # and no session was created: the next request still shows the form
        assert http.get("/authorize", params=params).status_code == 200


def test_unregistered_redirect_uri_is_400_without_redirect(idp: IdpProcess) -> None:
    params = auth_params(HUB.client_id, "https://evil.example/cb", make_pkce())
    with idp.client() as http:
        get = http.get("/authorize", params=params)
        post = http.post("/authorize", params=params, data={"username": "alice",
                                                           "password": PASSWORD})
    for response in (get, post):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]
        assert "evil.example" not in response.headers.get("location", "")


def test_unknown_client_is_400_without_redirect(idp: IdpProcess) -> None:
    params = auth_params("no-such-client", HUB_CB, make_pkce())
    with idp.client() as http:
        response = http.get("/authorize", params=params)
        token = http.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                          "client_id": "no-such-client"})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_client" in response.text
    assert token.status_code in (400, 401)
    assert token.json()["error"] == "invalid_client"


def test_reused_code_is_invalid_grant_and_revokes_its_tokens(idp: IdpProcess) -> None:
    pkce = make_pkce()
    with idp.client() as http:
        code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce))
        first = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier).json()
        assert introspect(http, first["access_token"], HUB_AUTH)["active"] is True
        assert introspect(http, first["refresh_token"], HUB_AUTH)["active"] is True

        second = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier)
        assert second.status_code == 400
        assert second.json()["error"] == "invalid_grant"
        assert introspect(http, first["access_token"], HUB_AUTH) == {"active": False}
        assert introspect(http, first["refresh_token"], HUB_AUTH) == {"active": False}
        userinfo = http.get(
            "/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}
        )
        assert userinfo.status_code == 401


def test_pkce_mismatch_is_invalid_grant(idp: IdpProcess) -> None:
    pkce = make_pkce()
    with idp.client() as http:
        code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce))
        wrong = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=make_pkce().verifier)
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        missing = redeem(http, code, HUB_CB, *HUB_AUTH)
        assert missing.status_code == 400
        assert missing.json()["error"] == "invalid_request"


def test_plain_pkce_is_refused(idp: IdpProcess) -> None:
    verifier = make_pkce().verifier
    for method in ("plain", None):
        params = auth_params(SPA.client_id, SPA_CB, None, code_challenge=verifier)
        if method:
            params["code_challenge_method"] = method
        with idp.client() as http:
            response = http.get("/authorize", params=params)
        redirect = query_of(response)
        assert redirect["error"] == "invalid_request"
        assert "code" not in redirect
        assert redirect["state"] == params["state"]


def test_public_client_without_pkce_is_refused(idp: IdpProcess) -> None:
    params = auth_params(SPA.client_id, SPA_CB, None)
    with idp.client() as http:
        get = http.get("/authorize", params=params)
        post = http.post("/authorize", params=params, data={"username": "alice",
                                                           "password": PASSWORD})
    for response in (get, post):
        redirect = query_of(response)
        assert redirect["error"] == "invalid_request"
        assert "code" not in redirect


def test_code_is_bound_to_client_and_redirect_uri(idp: IdpProcess) -> None:
    pkce = make_pkce()
    with idp.client() as http:
        code = login_for_code(http, auth_params(HUB.client_id, HUB_CB, pkce))
        other_client = redeem(http, code, HUB_CB, "opaque-service", "opaque-secret",
                              verifier=pkce.verifier)
        assert other_client.json()["error"] == "invalid_grant"
        wrong_secret = redeem(http, code, HUB_CB, HUB.client_id, "nope", verifier=pkce.verifier)
        assert wrong_secret.status_code == 401
        assert wrong_secret.json()["error"] == "invalid_client"
        other_uri = redeem(http, code, "http://127.0.0.1:9/other", *HUB_AUTH,
                           verifier=pkce.verifier)
        assert other_uri.json()["error"] == "invalid_grant"
        ok = redeem(http, code, HUB_CB, *HUB_AUTH, verifier=pkce.verifier)
        assert ok.status_code == 200, ok.text
