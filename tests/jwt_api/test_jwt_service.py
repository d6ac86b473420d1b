"""The JWT service in-process against a fake hub: auth, errors, relaying, token reuse."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from fake_hub import SERVICE_TOKEN, Refusal
from fake_provider import attack_tokens, new_key
from jwt_harness import Running

ATTACKS = [
    "alg-none", "hs256-public-key", "bad-signature", "expired", "not-yet-valid", "wrong-issuer",
    "wrong-audience", "unknown-kid", "other-issuer", "other-issuer-claiming-ours", "truncated",
    "huge-header", "non-ascii", "revoked-opaque",
]


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    body = response.json()
    assert body["status"] == 401 and body["message"]


async def test_root_answers_hub_version(running: Running) -> None:
    token = running.provider.token()
    async with running.client(token) as c:
        for path in ("", "/"):
            r = await c.get(path)
            assert r.status_code == 200 and r.json() == {"version": "6.1.1"}


async def test_a_draining_service_answers_and_closes_each_connection(running: Running) -> None:
    """A stopping pod (`runner.drain`): a client on a kept-alive connection gets its answer, with
    `Connection: close`, so its next request opens a new connection (to another pod)."""
    async with running.client(running.provider.token()) as c:
        before = await c.get("/")
        assert before.status_code == 200 and before.headers.get("connection", "").lower() != "close"
        running.service.start_draining()
        during = await c.get("/")
        assert during.status_code == 200 and during.headers["connection"].lower() == "close"
        refused = await c.get("/", headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401 and refused.headers["connection"].lower() == "close"


async def test_first_request_is_a_bearer_login_with_the_callers_token(running: Running) -> None:
    token = running.provider.token(eduperson_entitlement=["researchers", "physics"])
    async with running.client(token) as c:
        r = await c.get("/users/alice")
    assert r.status_code == 200, r.text
    method, path, headers = running.hub.requests[0]
    assert (method, path) == ("POST", "notebooks/bearer-login")
    assert headers["Authorization"] == f"token {SERVICE_TOKEN}"
    assert running.hub.groups == {"researchers": {"alice"}, "physics": {"alice"}}
    # every later call is made with alice's own hub token, never the service's
    assert all(h["Authorization"] != f"token {SERVICE_TOKEN}" for _, _, h in running.hub.requests[1:])


@pytest.mark.parametrize(("status", "expected"), [(401, 401), (403, 403), (503, 503), (500, 502)])
async def test_bearer_login_refusals_map_to_our_errors(running: Running, status: int,
                                                       expected: int) -> None:
    def refuse(token: str) -> None:
        raise Refusal(status)

    running.hub.claims_of = refuse
    async with running.client(running.provider.token()) as c:
        r = await c.get("/users/alice")
    assert r.status_code == expected and r.json()["status"] == expected
    assert running.hub.proxied() == []


async def test_hub_token_reused_and_bounded_by_oidc_expiry(running: Running) -> None:
    exp = int(time.time()) + 120
    async with running.client(running.provider.token(exp=exp)) as c:
        for _ in range(5):
            assert (await c.get("/users/alice")).status_code == 200
    logins = [r for r in running.hub.requests if r[1] == "notebooks/bearer-login"]
    assert len(logins) == 1
    tokens = running.service.upstream.tokens
    cached = tokens._tokens.get("alice")
    assert cached is not None and cached.expires_at <= exp + 1
    assert cached.lifetime <= 120


async def test_concurrent_first_requests_mint_once(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        results = await asyncio.gather(*(c.get("/users/alice") for _ in range(10)))
    assert all(r.status_code == 200 for r in results)
    assert running.service.upstream.tokens.minted == 1


async def test_note_says_where_token_came_from(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        await c.get("/users/alice")
    assert running.hub.notes == [
        f"notebooks jwt service: OIDC bearer token of {running.provider.issuer}"]


async def test_forwarding_preserves_status_headers_body(running: Running) -> None:
    token = running.provider.token()
    async with running.client(token) as c:
        r = await c.post("/echo?limit=2&offset=1", content=b'{"a": 1}',
                         headers={"Content-Type": "application/json", "Cookie": "x=y",
                                  "Accept": "application/jupyterhub-pagination+json"})
    assert r.status_code == 201
    assert r.headers["location"] == "/hub/api/users/x"
    assert r.headers["link"] == '<next>; rel="next"'
    assert "set-cookie" not in r.headers
    echo = r.json()
    assert echo["method"] == "POST" and echo["query"] == "limit=2&offset=1"
    assert echo["body"] == '{"a": 1}'
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    assert sent["accept"] == "application/jupyterhub-pagination+json"
    assert "cookie" not in sent
    assert token not in json.dumps(sent), "the caller's Authorization is never forwarded"
    assert sent["authorization"] != f"token {SERVICE_TOKEN}"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_forwarded(running: Running, method: str) -> None:
    async with running.client(running.provider.token()) as c:
        r = await c.request(method, "/echo", content=b"x" if method != "GET" else None)
    assert r.status_code == 200 and r.json()["method"] == method


async def test_head_and_204(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        assert (await c.head("/echo")).status_code == 200
        r = await c.delete("/nothing")
    assert r.status_code == 204 and r.content == b""


async def test_upstream_errors_passed_through(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        r = await c.get("/users/bob")
    assert r.status_code == 404 and r.json()["message"] == "No such user bob"


async def test_progress_stream_is_streamed(running: Running) -> None:
    arrivals = []
    async with running.client(running.provider.token()) as c:
        start = time.monotonic()
        async with c.stream("GET", "/users/alice/server/progress") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    arrivals.append((time.monotonic() - start, json.loads(line[5:])))
    assert [a[1]["progress"] for a in arrivals] == [33, 66, 99]
    assert arrivals[0][0] < arrivals[-1][0] - 0.3, "events arrive as they happen"


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Basic dXNlcjpwYXNz", "token abc", "Bearer a b",
])
async def test_missing_or_malformed_header(running: Running, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with running.client() as c:
        assert_invalid_token(await c.get("/users/alice", headers=headers))
    assert running.hub.requests == []


async def test_scheme_is_case_insensitive(running: Running) -> None:
    async with running.client() as c:
        r = await c.get("/", headers={"Authorization": f"bEaReR {running.provider.token()}"})
    assert r.status_code == 200


@pytest.mark.parametrize("case", ATTACKS)
async def test_attack_suite_401_never_reaches_hub(running: Running, other_provider, case) -> None:
    token = attack_tokens(running.provider, other_provider)[case]
    async with running.client() as c:
        if case == "non-ascii":
            r = await c.get("/users/alice",
                            headers=[(b"Authorization", ("Bearer " + "é☃" * 40).encode())])
        elif case == "huge-header":
            # a server may refuse the header outright; either way nothing reaches the hub
            try:
                r = await c.get("/users/alice", headers={"Authorization": f"Bearer {token}"})
            except Exception:
                r = None
            if r is not None and r.status_code != 401:
                assert r.status_code in (400, 431), r.status_code
                assert running.hub.requests == []
                return
        else:
            r = await c.get("/users/alice", headers={"Authorization": f"Bearer {token}"})
    if r is not None:
        assert_invalid_token(r)
    assert running.hub.requests == [], "refused before any hub call"


async def test_huge_token_within_server_limits(running: Running) -> None:
    async with running.client("x" * 20_000 + ".a.b") as c:
        assert_invalid_token(await c.get("/users/alice"))


async def test_not_admitted_403(running: Running) -> None:
    token = running.provider.token(preferred_username="carol", eduperson_entitlement=["visitors"])
    async with running.client(token) as c:
        r = await c.get("/users/carol")
    assert r.status_code == 403 and "none of the groups" in r.json()["message"]
    assert running.hub.requests == []


async def test_missing_username_claim_403(running: Running) -> None:
    async with running.client(running.provider.token(preferred_username=None)) as c:
        r = await c.get("/")
    assert r.status_code == 403 and "preferred_username" in r.json()["message"]


async def test_opaque_token_introspected_and_cached(running: Running) -> None:
    token = running.provider.opaque_token()
    async with running.client(token) as c:
        for _ in range(3):
            assert (await c.get("/users/alice")).status_code == 200
    assert running.provider.hits["introspect"] == 1


async def test_revoked_opaque_token_stops_within_cache_bound(running: Running) -> None:
    token = running.provider.opaque_token()
    async with running.client(token) as c:
        assert (await c.get("/users/alice")).status_code == 200
        running.provider.opaque[token] = {"active": False}
        assert (await c.get("/users/alice")).status_code == 200  # still cached
        await asyncio.sleep(1.1)  # introspection_cache_seconds in the fixture
        assert_invalid_token(await c.get("/users/alice"))


async def test_idp_down_cached_tokens_work_new_ones_503(running: Running) -> None:
    p = running.provider
    seen_jwt, seen_opaque = p.token(), p.opaque_token()
    async with running.client() as c:
        for t in (seen_jwt, seen_opaque):
            assert (await c.get("/", headers={"Authorization": f"Bearer {t}"})).status_code == 200
        from fake_provider import new_key
        p.keys.append(new_key("rsa-rotated"))
        new_jwt, new_opaque = p.token("rsa-rotated"), p.opaque_token()
        await p.shutdown()
        await asyncio.sleep(0.6)  # past the refetch interval: a refetch is attempted and fails
        for t in (seen_jwt, seen_opaque):
            assert (await c.get("/", headers={"Authorization": f"Bearer {t}"})).status_code == 200
        for t in (new_jwt, new_opaque):
            r = await c.get("/", headers={"Authorization": f"Bearer {t}"})
            assert r.status_code == 503, r.text
            assert r.json()["status"] == 503


async def test_hub_down_502(running: Running) -> None:
    await running.hub.shutdown()
    async with running.client(running.provider.token()) as c:
        r = await c.get("/users/alice")
    assert r.status_code == 502 and r.json() == {"status": 502, "message": "hub unreachable"}


async def test_stale_hub_token_replaced(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        assert (await c.get("/users/alice")).status_code == 200
        running.hub.tokens.clear()  # e.g. the user deleted the token through the API
        r = await c.get("/users/alice")
    assert r.status_code == 200
    assert running.service.upstream.tokens.minted == 2


async def test_dot_segments_refused(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        r = await c.get("/%2e%2e/admin")
    assert r.status_code == 404
    assert running.hub.proxied() == []


async def test_revoke_all_on_close(running: Running) -> None:
    async with running.client(running.provider.token()) as c:
        await c.get("/users/alice")
    await running.service.upstream.tokens.revoke_all()
    deletes = [r for r in running.hub.requests if r[0] == "DELETE" and "/tokens/" in r[1]]
    assert len(deletes) == 1


async def test_changed_groups_mean_a_new_bearer_login(running: Running) -> None:
    p = running.provider
    async with running.client() as c:
        for groups in (["researchers", "physics"], ["researchers", "physics"], ["researchers"]):
            token = p.token(eduperson_entitlement=groups)
            r = await c.get("/users/alice", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
    assert running.service.upstream.tokens.minted == 2
    assert running.hub.groups == {"researchers": {"alice"}, "physics": set()}
    revoked = [path for method, path, _ in running.hub.requests if method == "DELETE"]
    assert len(revoked) == 1 and "/tokens/" in revoked[0], "the replaced hub token is revoked"


async def test_an_older_token_of_the_user_never_logs_in_again(running: Running) -> None:
    """Tokens of one user used in turn: the newer one's groups stand, and no hub token per request."""
    p = running.provider
    now = int(time.time())
    newer = p.token(iat=now, eduperson_entitlement=["researchers"])
    older = p.token(iat=now - 60, nbf=now - 60, eduperson_entitlement=["researchers", "physics"])
    async with running.client() as c:
        for token in (newer, older, newer, older):
            r = await c.get("/users/alice", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
    assert running.service.upstream.tokens.minted == 1
    assert running.hub.groups.get("physics", set()) == set()


async def test_a_failed_login_with_one_token_is_not_shared_with_another(running: Running) -> None:
    """Two tokens of alice at once; the hub refuses the first: the second still gets through."""
    p = running.provider
    refused, accepted = p.token(jti="refused"), p.token(jti="accepted")

    def verify(token: str) -> dict[str, Any]:
        if token == refused:
            raise Refusal(403)
        return p.claims()

    running.hub.claims_of, running.hub.login_delay = verify, 0.3
    async with running.client() as c:
        first = asyncio.create_task(c.get("/users/alice", headers={"Authorization": f"Bearer {refused}"}))
        await asyncio.sleep(0.1)  # the first login is in flight
        second = await c.get("/users/alice", headers={"Authorization": f"Bearer {accepted}"})
        assert (await first).status_code == 403
    assert second.status_code == 200, second.text


async def test_a_token_of_a_key_published_late_works_after_the_next_key_fetch(running: Running
                                                                            ) -> None:
    """A refusal for an unknown key is remembered only until the keys may be fetched again."""
    p = running.provider
    late = new_key("rsa-late")
    p.keys.append(late)
    token = p.token("rsa-late")
    p.keys.remove(late)  # signed with a key the provider does not publish yet
    async with running.client(token) as c:
        r = await c.get("/users/alice")
        assert r.status_code == 401 and r.json()["message"] == "unknown signing key"
        p.keys.append(late)
        await asyncio.sleep(0.6)  # the test service's refetch interval is 0.5 s
        assert (await c.get("/users/alice")).status_code == 200

