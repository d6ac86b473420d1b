"""The JWT service launched by a real JupyterHub: scopes, provisioning, parity, spawn progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from minihub import MiniHub, ProviderThread

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / ".node/node_modules/.bin/configurable-http-proxy")
    .exists(), reason="configurable-http-proxy not installed in .node")


@pytest.fixture(scope="module")
def idp() -> Iterator[ProviderThread]:
    thread = ProviderThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def hub(idp: ProviderThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniHub]:
    assert idp.provider is not None
    mini = MiniHub(tmp_path_factory.mktemp("minihub"), idp.provider.issuer,
                   idp.provider.client_secret)
    mini.start(introspection_cache_seconds=1.0, min_jwks_refetch_interval=1.0)
    yield mini
    mini.stop()


def token(idp: ProviderThread, user: str = "alice", groups: tuple[str, ...] = ("researchers",)
          ) -> str:
    assert idp.provider is not None
    return idp.provider.token(preferred_username=user, eduperson_entitlement=list(groups))


def test_seed_snippets(hub: MiniHub, idp: ProviderThread) -> None:
    TOKEN = token(idp)
    r = httpx.get(f"{hub.url}/services/jwt", headers={"Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 200
    assert r.json() == httpx.get(f"{hub.url}/hub/api/").json()
    api_url = f"{hub.url}/services/jwt"
    token_ = TOKEN
    r = requests.get(api_url + "/users", headers={"Authorization": "Bearer {}".format(token_)})  # noqa: UP032
    r.raise_for_status(); users = r.json()  # noqa: E702
    assert [u["name"] for u in users] == ["alice"]


def test_user_created_like_a_login(hub: MiniHub, idp: ProviderThread) -> None:
    r = httpx.get(f"{hub.url}/services/jwt/users/dora",
                  headers={"Authorization": f"Bearer {token(idp, 'dora', ('researchers', 'x'))}"})
    assert r.status_code == 200, r.text
    with hub.admin_api() as api:
        dora = api.get("/users/dora").json()
        tokens = api.get("/users/dora/tokens").json()["api_tokens"]
    assert sorted(dora["groups"]) == ["researchers", "x"]
    assert any(t["note"].startswith("notebooks jwt service") for t in tokens)


@pytest.mark.parametrize(("user", "groups"), [("alice", ("researchers",)), ("admin", ("admins",))])
def test_parity_with_direct_hub_api(hub: MiniHub, idp: ProviderThread, user: str,
                                    groups: tuple[str, ...]) -> None:
    bearer = {"Authorization": f"Bearer {token(idp, user, groups)}"}
    via_jwt = httpx.get(f"{hub.url}/services/jwt/users", headers=bearer)
    direct_token = hub.direct_token(user)
    direct = httpx.get(f"{hub.url}/hub/api/users",
                       headers={"Authorization": f"token {direct_token}"})
    assert via_jwt.status_code == direct.status_code

    def stable(users: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in u.items() if k != "last_activity"} for u in users),
                      key=lambda u: u["name"])

    assert stable(via_jwt.json()) == stable(direct.json())
    names = {u["name"] for u in via_jwt.json()}
    assert names == {user} if user == "alice" else len(names) > 1
    for path in ("/users/nobody-here", f"/users/{user}/tokens"):
        a = httpx.get(f"{hub.url}/services/jwt{path}", headers=bearer)
        b = httpx.get(f"{hub.url}/hub/api{path}", headers={"Authorization": f"token {direct_token}"})
        assert a.status_code == b.status_code, path


def test_normal_user_cannot_see_others(hub: MiniHub, idp: ProviderThread) -> None:
    bearer = {"Authorization": f"Bearer {token(idp)}"}
    r = httpx.get(f"{hub.url}/services/jwt/users/admin", headers=bearer)
    assert r.status_code in (403, 404)


def test_spawn_progress_stop(hub: MiniHub, idp: ProviderThread) -> None:
    api = httpx.Client(base_url=f"{hub.url}/services/jwt", timeout=120,
                       headers={"Authorization": f"Bearer {token(idp, 'erin')}"})
    r = api.post("/users/erin/server")
    assert r.status_code in (201, 202), r.text
    events = []
    with api.stream("GET", "/users/erin/server/progress") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1].get("ready") or events[-1].get("failed"):
                    break
    assert events and events[-1].get("ready"), events
    assert api.get("/users/erin").json()["servers"][""]["ready"] is True
    r = api.delete("/users/erin/server")
    assert r.status_code in (202, 204), r.text


def test_attacks_refused(hub: MiniHub, idp: ProviderThread) -> None:
    from fake_provider import attack_tokens

    other = ProviderThread()
    try:
        assert idp.provider is not None and other.provider is not None
        for case, bad in attack_tokens(idp.provider, other.provider).items():
            if case in ("non-ascii", "huge-header"):
                continue  # covered in-process; headers that size/charset are refused by the proxy
            r = httpx.get(f"{hub.url}/services/jwt/users",
                          headers={"Authorization": f"Bearer {bad}"})
            assert r.status_code == 401, (case, r.text)
            assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    finally:
        other.close()
