"""Browser logins against an IdP that refuses userinfo, fails, lies or hangs: a clear page, never a 500.

The real service (`notebooks up`: hub, proxy, JWT API) trusts the fake provider of tests/oidc, which
misbehaves on demand. Every test also checks that the hub logged no traceback.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from typing import Any

import httpx
from fake_provider import FakeProvider

from tests.stack import Stack, hub_api, hub_token, start_server, stop_server, wait_until


def login(stack: Stack, **params: str) -> tuple[httpx.Client, httpx.Response]:
    """A browser's login: hub -> provider (approves at once) -> hub callback -> landing page."""
    client = httpx.Client(follow_redirects=True, timeout=60)
    page = client.get(f"{stack.hub_url}/hub/oauth_login", params={"next": "/hub/home", **params})
    return client, page


def no_traceback_since(stack: Stack, offset: int) -> None:
    logged = stack.log()[offset:]
    assert "Traceback" not in logged, logged[-3000:]
    assert not re.search(r"JupyterHub log:\d+\] 500 ", logged), logged[-3000:]


def test_userinfo_refusing_the_access_token_still_logs_in_from_the_id_token(
        idp_stack: Stack, idp: FakeProvider) -> None:
    """RFC 8707/9068 IdPs: the access token is for a resource server; userinfo answers 401."""
    idp.userinfo_status = 401
    offset, asked = len(idp_stack.log()), idp.hits.get("userinfo", 0)
    client, page = login(idp_stack)
    assert page.status_code == 200, page.text[:2000]
    assert str(page.url) == f"{idp_stack.hub_url}/hub/home"
    assert idp.hits["userinfo"] == asked + 1, "userinfo is asked first"
    me = hub_api(idp_stack, hub_token(client, idp_stack, "alice")).get("/user").json()
    assert (me["name"], me["groups"]) == ("alice", ["researchers"])
    assert "refused the access token (HTTP 401): logging in from the ID token's claims" in \
        idp_stack.log()[offset:]
    no_traceback_since(idp_stack, offset)


def test_userinfo_about_another_user_is_refused(idp_stack: Stack, idp: FakeProvider) -> None:
    """A userinfo answer naming another subject must not lend its name or groups to the login."""
    idp.login_claims = {"eduperson_entitlement": ["visitors"]}
    idp.userinfo_override = {"sub": "sub-admin", "preferred_username": "admin",
                             "eduperson_entitlement": ["admins"]}
    offset = len(idp_stack.log())
    client, page = login(idp_stack)
    assert page.status_code == 502
    assert "about another user" in page.text
    assert not any(c.startswith("jupyterhub-session") for c in client.cookies)
    no_traceback_since(idp_stack, offset)


TOKEN_ENDPOINT_FAILURES: dict[str, tuple[tuple[int, str], int, str]] = {
    "invalid grant": ((400, '{"error": "invalid_grant", "error_description": "code expired"}'),
                      403, "invalid_grant: code expired"),
    "server error page": ((500, "<html>Internal Server Error</html>"), 502, "HTTP 500"),
    "not json": ((200, "<html>welcome</html>"), 502, "unreadable answer"),
    "no access token": ((200, '{"token_type": "Bearer"}'), 502, "unusable answer"),
    "access token not a string": ((200, '{"access_token": 42}'), 502, "unusable answer"),
    "json array": ((200, "[1, 2]"), 502, "unusable answer"),
    "lifetime not a number": ((200, '{"access_token": "abc", "token_type": "Bearer", '
                                    '"expires_in": "soon"}'), 502, "unusable answer"),
    "no token type, no ID token": ((200, '{"access_token": "opaque-abc"}'), 403,
                                   "refused the request at its userinfo endpoint"),
}


def test_token_endpoint_failures_give_clear_pages(idp_stack: Stack, idp: FakeProvider) -> None:
    offset = len(idp_stack.log())
    answers: dict[str, tuple[int, str]] = {}
    for name, (failure, _, _) in TOKEN_ENDPOINT_FAILURES.items():
        idp.token_failure = failure
        _, page = login(idp_stack)
        answers[name] = (page.status_code, page.text)
    for name, (_, status, words) in TOKEN_ENDPOINT_FAILURES.items():
        assert answers[name][0] == status, (name, answers[name][1][:1500])
        assert words in answers[name][1], (name, answers[name][1][:1500])
    no_traceback_since(idp_stack, offset)


def test_a_replayed_callback_is_refused_with_a_clear_page(idp_stack: Stack, idp: FakeProvider
                                                          ) -> None:
    """An attacker replays a callback URL (its code already used): 403 page, no session."""
    client = httpx.Client(timeout=60)
    first = client.get(f"{idp_stack.hub_url}/hub/oauth_login", params={"next": "/hub/home"})
    state = {k: v for k, v in client.cookies.items() if k.startswith("oauthenticator-state")}
    assert state
    callback = httpx.get(first.headers["location"]).headers["location"]  # the provider approves
    assert client.get(callback).status_code == 302, "the genuine callback logs in"
    offset = len(idp_stack.log())
    attacker = httpx.Client(timeout=60, cookies=state)
    replay = attacker.get(callback)
    assert replay.status_code in (400, 403), replay.text[:1500]
    assert not any(c.startswith("jupyterhub-session") for c in attacker.cookies)
    no_traceback_since(idp_stack, offset)


def test_forged_or_cancelled_callbacks_get_clear_pages(idp_stack: Stack) -> None:
    """The IdP's error answer (user cancelled), a missing code, a foreign state: 400, not 500."""
    client = httpx.Client(timeout=60)
    login_page = client.get(f"{idp_stack.hub_url}/hub/oauth_login", params={"next": "/hub/home"})
    state = dict(part.split("=", 1) for part in
                 login_page.headers["location"].split("?", 1)[1].split("&"))["state"]
    offset = len(idp_stack.log())
    callback = f"{idp_stack.hub_url}/hub/oauth_callback"
    cases = {
        "cancelled": {"error": "access_denied", "error_description": "the user said no",
                      "state": state},
        "no code": {"state": state},
        "foreign state": {"code": "stolen", "state": "eyJzdGF0ZV9pZCI6ICJldmlsIn0="},
        "no state": {"code": "stolen"},
    }
    for name, params in cases.items():
        page = client.get(callback, params=params)
        assert page.status_code == 400, (name, page.text[:1000])
        assert not any(c.startswith("jupyterhub-session") for c in client.cookies), name
    no_traceback_since(idp_stack, offset)


def _timed(method: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.monotonic()
    result = method(*args, **kwargs)
    return time.monotonic() - start, result


def test_silent_idp_after_a_hub_restart(idp_stack: Stack, idp: FakeProvider) -> None:
    """The IdP accepts connections but never answers, and the hub restarts: its first login must not
    stall the hub for everybody; it answers a clear 503 page within ~10 s, and a logged-in user's
    API token and running server keep working meanwhile."""
    client, _ = login(idp_stack)
    token = hub_token(client, idp_stack, "alice")
    api = hub_api(idp_stack, token)
    start_server(api, "alice")
    server = httpx.Client(base_url=f"{idp_stack.hub_url}/user/alice/api", timeout=60,
                          headers={"Authorization": f"token {token}"})
    idp.silent = True
    hub = idp_stack.pids()["JupyterHub"]
    os.kill(hub, signal.SIGKILL)
    wait_until(lambda: idp_stack.pids().get("JupyterHub") not in (None, hub), 120, what="hub restart")
    wait_until(lambda: httpx.get(f"{idp_stack.hub_url}/hub/api").status_code == 200, 120,
               what="the restarted hub")
    offset = len(idp_stack.log())

    outcome: dict[str, Any] = {}
    browser = threading.Thread(target=lambda: outcome.update(
        login=_timed(httpx.get, f"{idp_stack.hub_url}/hub/oauth_login", timeout=60)))
    browser.start()
    api_latencies, server_latencies = [], []
    while browser.is_alive():
        seconds, answer = _timed(api.get, "/user")
        assert answer.status_code == 200
        api_latencies.append(seconds)
        seconds, answer = _timed(server.get, "/status")
        assert answer.status_code == 200
        server_latencies.append(seconds)
        time.sleep(0.2)
    browser.join()
    seconds, page = outcome["login"]
    print(f"login page with a silent IdP: HTTP {page.status_code} after {seconds:.1f}s; "
          f"meanwhile {len(api_latencies)} hub API requests, slowest {max(api_latencies):.2f}s, "
          f"server requests slowest {max(server_latencies):.2f}s")
    assert page.status_code == 503
    assert "is not responding" in page.text
    assert seconds < 11
    assert max(api_latencies) < 1.0, "the hub's event loop was blocked"
    assert max(server_latencies) < 1.0
    no_traceback_since(idp_stack, offset)
    stop_server(api, "alice")

    idp.silent = False
    client, landing = login(idp_stack)
    assert landing.status_code == 200, "the next login after the IdP answers again works"
