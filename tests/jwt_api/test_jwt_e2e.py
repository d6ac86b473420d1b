"""`/services/jwt` end to end: `notebooks up` (IdP, proxy, hub, JWT service), tokens from the IdP.

The session `stack` serves most tests. One module stack, `strict`, differs where the config must:
`oidc.audience` is set and `notebooks token` hands out opaque tokens (introspection); it is also
the one whose IdP and hub are stopped. Hub-down (502) is covered here by killing the hub during
the launcher's restart window, and in-process in test_jwt_service.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from fake_provider import FakeProvider
from realstack import (
    HubProbe,
    bearer,
    forged_attacks,
    jwt_api,
    oidc_token,
    paused,
    real_idp,
    wait_for_jwt_route,
)

from tests.stack import (
    DEMO_PASSWORD,
    Stack,
    browser_login,
    hub_api,
    hub_token,
    make_stack,
    wait_until,
)

INVALID_TOKEN = 'Bearer error="invalid_token"'
ATTACKS = ("alg-none", "hs256-public-key", "bad-signature", "expired", "not-yet-valid",
           "wrong-issuer", "unknown-kid", "other-issuer", "other-issuer-claiming-ours",
           "truncated", "non-ascii", "unknown-opaque")


@pytest.fixture(scope="module")
def alice_token(stack: Stack) -> str:
    wait_for_jwt_route(stack)
    return oidc_token(stack, "alice")


def hub_version(stack: Stack) -> str:
    return str(httpx.get(f"{stack.hub_url}/hub/api/").json()["version"])


def test_seed_curl_snippet(stack: Stack, alice_token: str) -> None:
    snippet = """curl -H "Authorization: bearer $TOKEN" $HUB/services/jwt"""
    result = subprocess.run(
        ["bash", "-c", snippet.replace("curl ", "curl -sS --noproxy '*' ", 1)],
        env={**os.environ, "TOKEN": alice_token, "HUB": stack.hub_url},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"version": hub_version(stack)}


def test_seed_python_snippet(stack: Stack, alice_token: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    api_url, token = f"{stack.hub_url}/services/jwt", alice_token
    r = requests.get(api_url + "/users", headers={"Authorization": "Bearer {}".format(token)})  # noqa: UP032
    r.raise_for_status(); users = r.json()  # noqa: E702
    assert [u["name"] for u in users] == ["alice"]
    assert users[0]["groups"] == ["researchers"]


def test_server_start_progress_stop(stack: Stack) -> None:
    with jwt_api(stack, oidc_token(stack, "bob")) as api:
        started = api.post("/users/bob/server")
        assert started.status_code in (201, 202), started.text
        try:
            events = progress_events(api, "/users/bob/server/progress")
            assert events[-1].get("ready") is True, events
            assert api.get("/users/bob").json()["servers"][""]["ready"] is True
        finally:
            stopped = api.delete("/users/bob/server")
        assert stopped.status_code in (202, 204), stopped.text
        wait_until(lambda: "" not in api.get("/users/bob").json()["servers"], 60,
                   what="bob's server to stop")


def progress_events(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    """The spawn progress events up to the final (ready or failed) one."""
    events: list[dict[str, Any]] = []
    with api.stream("GET", path) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1].get("ready") or events[-1].get("failed"):
                    break
    assert events, "no progress event"
    return events


def without_volatile(value: Any) -> Any:
    """`value` without `last_activity` fields, which every request may bump."""
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k != "last_activity"}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    return value


@pytest.mark.parametrize("user", ["alice", "admin"])
def test_parity_with_direct_hub_api(stack: Stack, user: str) -> None:
    # the direct hub token comes from a browser login
    browser, _ = browser_login(stack, user)
    direct_token = hub_token(browser, stack, user)
    browser.close()
    with hub_api(stack, direct_token) as direct, jwt_api(stack, oidc_token(stack, user)) as via_jwt:
        for path in ("/users", f"/users/{user}", "/users/bob", "/users/nobody-here", "/groups"):
            ours, theirs = via_jwt.get(path), direct.get(path)
            assert ours.status_code == theirs.status_code, path
            assert ours.headers["content-type"] == theirs.headers["content-type"], path
            assert without_volatile(ours.json()) == without_volatile(theirs.json()), path
        names = {u["name"] for u in via_jwt.get("/users").json()}
    assert names == {"alice"} if user == "alice" else {"alice", "bob", "admin"} <= names


@pytest.mark.parametrize("case", ATTACKS)
async def test_attack_refused_before_the_hub(stack: Stack, alice_token: str,
                                             other_provider: FakeProvider, case: str) -> None:
    token, reason = forged_attacks(real_idp(stack), other_provider)[case]
    probe = HubProbe(stack)
    response = httpx.get(f"{stack.hub_url}/services/jwt{probe.path(case)}",
                         headers={"Authorization": f"Bearer {token}".encode()}, timeout=60)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == INVALID_TOKEN
    assert response.json() == {"status": 401, "message": reason}
    probe.assert_none_reached(alice_token)
    assert other_provider.hits == {"discovery": 0, "jwks": 0, "introspect": 0}


def test_megabyte_header_refused_before_the_hub(stack: Stack, alice_token: str) -> None:
    """The proxy (node: 16 KiB of headers) refuses it before it reaches our service or the hub."""
    probe = HubProbe(stack)
    huge = "eyJ" + "A" * (1024 * 1024) + "." + alice_token.split(".", 1)[1]
    try:
        status = httpx.get(f"{stack.hub_url}/services/jwt{probe.path('huge')}",
                           headers=bearer(huge), timeout=60).status_code
    except httpx.TransportError:
        status = None  # connection reset while the header was still being sent
    assert status in (None, 401, 431)
    probe.assert_none_reached(alice_token)


@pytest.mark.parametrize("header", [None, "Basic YWxpY2U6bm90ZWJvb2tz", "Bearer", "token abc"])
def test_missing_or_malformed_header_401(stack: Stack, alice_token: str,
                                         header: str | None) -> None:
    probe = HubProbe(stack)
    response = httpx.get(f"{stack.hub_url}/services/jwt{probe.path('header')}",
                         headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_TOKEN
    probe.assert_none_reached(alice_token)


def test_user_not_admitted_403(stack: Stack, alice_token: str) -> None:
    probe = HubProbe(stack)
    response = httpx.get(f"{stack.hub_url}/services/jwt{probe.path('carol')}",
                         headers=bearer(oidc_token(stack, "carol")))
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403
    probe.assert_none_reached(alice_token)


# ---- a stack with an audience and opaque CLI tokens; its IdP and hub get stopped ----

AUDIENCE = "notebooks-hub"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    service = make_stack(tmp_path_factory.mktemp("strict"), "strict", sections={
        "oidc": {"audience": AUDIENCE},
        "dev_idp": {"cli_access_token_format": "opaque"},
    })
    service.start()
    try:
        wait_for_jwt_route(service)
        yield service
    finally:
        service.stop()


def opaque_token(stack: Stack, user: str = "alice") -> str:
    token = oidc_token(stack, user)
    assert token.count(".") != 2, "expected an opaque token"
    return token


def get(stack: Stack, token: str, path: str = "/users/alice") -> httpx.Response:
    return httpx.get(f"{stack.hub_url}/services/jwt{path}", headers=bearer(token), timeout=60)


def test_audience_checked_when_configured(strict: Stack) -> None:
    idp = real_idp(strict)
    kid = idp.keys[0].kid
    assert get(strict, idp.token(kid, aud=AUDIENCE)).status_code == 200
    probe = HubProbe(strict)
    response = get(strict, idp.token(kid, aud="someone-else"), probe.path("audience"))
    assert response.status_code == 401
    assert response.json()["message"] == "wrong audience"
    probe.assert_none_reached(idp.token(kid, aud=AUDIENCE))


def test_opaque_token_introspected(strict: Stack) -> None:
    response = get(strict, opaque_token(strict))
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "alice"


def test_revoked_opaque_token_401(strict: Stack) -> None:
    token = opaque_token(strict)
    revoked = httpx.post(f"{strict.issuer}/revoke",
                         data={"token": token, "client_id": "notebooks-cli"})
    assert revoked.status_code == 200, revoked.text
    probe = HubProbe(strict)
    response = get(strict, token, probe.path("revoked"))
    assert response.status_code == 401
    assert response.json()["message"] == "token is not active"
    probe.assert_none_reached(opaque_token(strict))


def test_refresh_token_is_not_a_bearer_token(strict: Stack) -> None:
    """The development IdP introspects its refresh tokens as active, as real IdPs do."""
    grant = httpx.post(f"{strict.issuer}/token", timeout=30, data={
        "grant_type": "password", "client_id": "notebooks-cli", "username": "alice",
        "password": DEMO_PASSWORD, "scope": "openid offline_access"})
    assert grant.status_code == 200, grant.text
    probe = HubProbe(strict)
    response = get(strict, grant.json()["refresh_token"], probe.path("refresh-token"))
    assert response.status_code == 401
    assert response.json()["message"] == "not an access token"
    probe.assert_none_reached(opaque_token(strict))


def test_idp_stopped_verified_tokens_work_new_ones_503(strict: Stack) -> None:
    idp = real_idp(strict)
    verified_opaque, verified_jwt = opaque_token(strict), idp.token(idp.keys[0].kid, aud=AUDIENCE)
    unseen_opaque = opaque_token(strict)
    assert get(strict, verified_opaque).status_code == 200
    assert get(strict, verified_jwt).status_code == 200
    with paused(strict, "development identity provider"):
        assert get(strict, verified_opaque).status_code == 200
        assert get(strict, verified_jwt).status_code == 200
        # a new JWT signed with a cached key needs no provider either
        assert get(strict, idp.token(idp.keys[0].kid, aud=AUDIENCE)).status_code == 200
        started = time.monotonic()
        response = get(strict, unseen_opaque)
        assert response.status_code == 503, response.text
        assert response.json()["status"] == 503
        assert time.monotonic() - started < 30
    assert get(strict, unseen_opaque).status_code == 200  # not remembered as refused


def test_hub_down_502_then_recovers(strict: Stack) -> None:
    idp = real_idp(strict)
    token = idp.token(idp.keys[0].kid, aud=AUDIENCE)
    assert get(strict, token).status_code == 200
    os.kill(strict.pids()["JupyterHub"], signal.SIGKILL)
    response = get(strict, token)
    assert response.status_code == 502, response.text
    assert response.json()["status"] == 502
    wait_until(lambda: get(strict, token).status_code == 200, 120, 1.0,
               "the restarted hub to answer through /services/jwt")



def forged_user_token(stack: Stack, username: str, groups: list[str]) -> str:
    """A genuine-looking access token of `username` signed with the stack IdP's own key."""
    idp = real_idp(stack)
    return idp.token(idp.keys[0].kid, preferred_username=username, eduperson_entitlement=groups)


def service_token(stack: Stack) -> str:
    return (stack.data_dir / "secrets" / "jwt_service_token").read_text().strip()


def test_admin_first_seen_through_the_api_is_a_hub_admin(stack: Stack) -> None:
    wait_for_jwt_route(stack)
    with jwt_api(stack, forged_user_token(stack, "dana", ["admins"])) as api:
        me = api.get("/users/dana")
        names = {u["name"] for u in api.get("/users").json()}
    assert me.status_code == 200, me.text
    assert me.json()["admin"] is True and me.json()["groups"] == ["admins"]
    assert {"dana", "alice", "bob"} <= names, "an admin gets every user"


def test_groups_follow_the_token_like_a_login(stack: Stack) -> None:
    wait_for_jwt_route(stack)
    for groups in (["physics", "researchers"], ["researchers"]):
        with jwt_api(stack, forged_user_token(stack, "erin", groups)) as api:
            me = api.get("/users/erin").json()
        assert sorted(me["groups"]) == groups and me["admin"] is False


BEARER_LOGIN = "/hub/api/notebooks/bearer-login"


def test_bearer_login_needs_its_scope(stack: Stack, alice_token: str) -> None:
    body = {"token": alice_token, "expires_in": 60, "note": "test"}
    anonymous = httpx.post(f"{stack.hub_url}{BEARER_LOGIN}", json=body)
    browser, _ = browser_login(stack, "alice")
    own = hub_token(browser, stack, "alice")
    browser.close()
    with hub_api(stack, own) as api:
        as_alice = api.post("/notebooks/bearer-login", json=body)
    assert anonymous.status_code == 403 and as_alice.status_code == 403, as_alice.text
    assert "custom:notebooks:bearer-login" in as_alice.json()["message"]


@pytest.mark.parametrize("case", ["alg-none", "bad-signature", "expired", "wrong-issuer",
                                  "other-issuer-claiming-ours", "unknown-opaque"])
async def test_bearer_login_refuses_bad_tokens(stack: Stack, other_provider: FakeProvider,
                                               case: str) -> None:
    token, _ = forged_attacks(real_idp(stack), other_provider)[case]
    with hub_api(stack, service_token(stack)) as api:
        r = api.post("/notebooks/bearer-login", json={"token": token, "expires_in": 60})
    assert r.status_code == 401, r.text
    assert r.json()["status"] == 401


@pytest.mark.parametrize(("body", "status"), [
    ({"token": "x"}, 400), ({"expires_in": 60}, 400), ({"token": "a.b.c", "expires_in": 0}, 400),
    ({"token": "a.b.c", "expires_in": 60, "note": 3}, 400), ([], 400),
])
def test_bearer_login_refuses_malformed_requests(stack: Stack, body: Any, status: int) -> None:
    with hub_api(stack, service_token(stack)) as api:
        assert api.post("/notebooks/bearer-login", json=body).status_code == status


@pytest.fixture(scope="module")
def admin_token(stack: Stack) -> str:
    """A hub token of the demo admin (admin role), from a browser login."""
    browser, _ = browser_login(stack, "admin")
    try:
        return hub_token(browser, stack, "admin")
    finally:
        browser.close()


def test_bearer_login_refuses_users_outside_the_allowed_groups(stack: Stack,
                                                               admin_token: str) -> None:
    token = forged_user_token(stack, "mallory", ["visitors"])
    with hub_api(stack, service_token(stack)) as api:
        r = api.post("/notebooks/bearer-login", json={"token": token, "expires_in": 60})
    assert r.status_code == 403 and "none of the groups" in r.json()["message"]
    with hub_api(stack, admin_token) as admin:
        assert admin.get("/users/mallory").status_code == 404, "no user was created"


def test_bearer_login_issues_a_user_token_bounded_by_the_oidc_token(stack: Stack) -> None:
    idp = real_idp(stack)
    token = idp.token(idp.keys[0].kid, preferred_username="frank",
                      eduperson_entitlement=["researchers"], exp=int(time.time()) + 90)
    with hub_api(stack, service_token(stack)) as api:
        r = api.post("/notebooks/bearer-login",
                     json={"token": token, "expires_in": 3600, "note": "from a test"})
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["name"] == "frank" and issued["expires_in"] <= 90
    with hub_api(stack, issued["token"]) as as_frank:
        assert as_frank.get("/user").json()["name"] == "frank"
        names = {u["name"] for u in as_frank.get("/users").json()}
        assert names == {"frank"}, "the user's rights, no more"
        assert as_frank.get("/proxy").status_code == 403
        model = as_frank.get(f"/users/frank/tokens/{issued['id']}").json()
        assert model["note"] == "from a test"
        assert as_frank.delete(f"/users/frank/tokens/{issued['id']}").status_code == 204
        assert as_frank.get("/user").status_code == 403, "revoked with itself"


def test_bearer_login_caps_the_hub_token_at_an_hour(stack: Stack) -> None:
    idp = real_idp(stack)
    token = idp.token(idp.keys[0].kid, preferred_username="frank",
                      eduperson_entitlement=["researchers"], exp=int(time.time()) + 86400)
    with hub_api(stack, service_token(stack)) as api:
        r = api.post("/notebooks/bearer-login", json={"token": token, "expires_in": 30 * 86400})
        assert r.status_code == 201, r.text
        assert r.json()["expires_in"] == 3600, "a day-long OIDC token still gets an hour at most"
    with hub_api(stack, r.json()["token"]) as as_frank:
        assert as_frank.delete(f"/users/frank/tokens/{r.json()['id']}").status_code == 204


def test_an_old_admin_token_cannot_make_a_demoted_admin_admin_again(stack: Stack, admin_token: str
                                                                    ) -> None:
    idp = real_idp(stack)
    now = int(time.time())

    def token(groups: list[str], age: int) -> str:
        return idp.token(idp.keys[0].kid, preferred_username="gina", eduperson_entitlement=groups,
                         iat=now - age, nbf=now - age)

    before_demotion, after_demotion = token(["admins"], 120), token(["researchers"], 0)
    with hub_api(stack, service_token(stack)) as service, hub_api(stack, admin_token) as admin:
        def login_then_gina(bearer: str) -> dict[str, Any]:
            login = service.post("/notebooks/bearer-login", json={"token": bearer, "expires_in": 60})
            assert login.status_code == 201, login.text
            return admin.get("/users/gina").json()

        assert login_then_gina(before_demotion)["admin"] is True
        assert login_then_gina(after_demotion)["admin"] is False
        replayed = login_then_gina(before_demotion)  # still valid, but older than the last login
        assert (replayed["admin"], replayed["groups"]) == (False, ["researchers"])


def test_bearer_login_keeps_the_browser_sessions_tokens(stack: Stack, admin_token: str) -> None:
    bob, _ = browser_login(stack, "bob")
    bob.close()
    with hub_api(stack, admin_token) as admin:
        before = admin.get("/users/bob").json()["auth_state"]
        with hub_api(stack, service_token(stack)) as service:
            login = service.post("/notebooks/bearer-login",
                                 json={"token": oidc_token(stack, "bob"), "expires_in": 60})
        assert login.status_code == 201, login.text
        after = admin.get("/users/bob").json()["auth_state"]
    assert before["refresh_token"] and after == before
