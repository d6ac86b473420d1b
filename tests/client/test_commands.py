"""`notebooks servers` against in-process zones: output, exit statuses and the one-line errors."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from notebooks_service.cli import _parser
from notebooks_service.client.commands import run
from tests.client.fake_zones import ISSUER, FakeFederation, FakeZone, jwt_token

READY_SERVER = {"ready": True, "pending": None, "url": "/user/alice/", "started": "2026-12-04T03:00:00Z",
                "user_options": {"profile": "small"}}


def servers(federation: FakeFederation, *argv: str, token: str | None = None,
            hub: str = "http://eu-1.test") -> tuple[int, str]:
    """Run `notebooks servers <argv>` on the fake zones: exit status and stdout."""
    args = _parser().parse_args(["servers", *argv, "--hub", hub])
    out = io.StringIO()
    status = run(args, {"OIDC_ACCESS_TOKEN": token or jwt_token()}, out, federation.transport())
    return status, out.getvalue()


def cells(line: str) -> list[str]:
    """A table row's cells (columns are two or more spaces apart; a cell may hold one space)."""
    return re.split(r"\s{2,}", line.strip())


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def two_zones() -> FakeFederation:
    return FakeFederation([FakeZone("eu-1", servers={"": dict(READY_SERVER)}), FakeZone("eu-2")])


def test_list_shows_every_zone(two_zones: FakeFederation) -> None:
    status, out = servers(two_zones, "list")
    assert status == 0
    lines = out.splitlines()
    assert cells(lines[0]) == ["ZONE", "SERVER", "STATUS", "PROFILE", "STARTED (UTC)", "URL"]
    assert cells(lines[1]) == ["eu-1", "(default)", "ready", "small", "2026-12-04 03:00:00",
                               "http://eu-1.test/user/alice/"]
    assert cells(lines[2]) == ["eu-2", "-", "no servers", "-", "-", "http://eu-2.test"]


def test_list_json(two_zones: FakeFederation) -> None:
    status, out = servers(two_zones, "list", "--json")
    assert status == 0
    answer = json.loads(out)
    assert [z["zone"] for z in answer["zones"]] == ["eu-1", "eu-2"]
    assert answer["zones"][0]["servers"] == [
        {"name": "", "ready": True, "pending": None, "url": "http://eu-1.test/user/alice/",
         "started": "2026-12-04T03:00:00Z", "profile": "small"}]


def test_a_zone_that_is_down_is_shown_and_named(two_zones: FakeFederation,
                                                caplog: pytest.LogCaptureFixture) -> None:
    two_zones.zones[1].failure = "down"
    status, out = servers(two_zones, "list")
    assert status == 2
    assert cells(out.splitlines()[2]) == ["eu-2", "-", "down", "-", "-", "http://eu-2.test"]
    assert errors(caplog) == ["zone eu-2 (http://eu-2.test) does not answer: connection refused"]


def test_a_zone_that_refuses_the_token_is_named_with_the_issuer(two_zones: FakeFederation,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    two_zones.zones[1].failure = "refused"
    token = jwt_token()
    status, out = servers(two_zones, "list", "--json", token=token)
    assert status == 2
    assert json.loads(out)["zones"][1]["status"] == "refused"
    assert errors(caplog) == [
        f"zone eu-2 (http://eu-2.test) refused the token (the token is from {ISSUER}): wrong issuer "
        "(HTTP 401); its identity provider may not be the token's, or the token was revoked"]
    assert token not in caplog.text + out


def test_expired_token_stops_before_any_call(two_zones: FakeFederation,
                                             caplog: pytest.LogCaptureFixture) -> None:
    status, out = servers(two_zones, "list", token=jwt_token(expires_in=-30))
    assert (status, out) == (2, "")
    assert two_zones.requests == []
    [message] = errors(caplog)
    assert message.startswith("the access token from $OIDC_ACCESS_TOKEN expired at ")


def test_unknown_zone_lists_the_known_ones(two_zones: FakeFederation,
                                           caplog: pytest.LogCaptureFixture) -> None:
    assert servers(two_zones, "stop", "--zone", "us-1")[0] == 2
    assert errors(caplog) == ["unknown zone 'us-1'; known zones: eu-1, eu-2"]


def test_a_hub_without_zones_is_one_unnamed_zone(caplog: pytest.LogCaptureFixture) -> None:
    single = FakeFederation([FakeZone("hub", servers={"": dict(READY_SERVER)})], directory=False)
    status, out = servers(single, "list", hub="http://hub.test")
    assert status == 0
    assert cells(out.splitlines()[1])[:3] == ["-", "(default)", "ready"]
    assert servers(single, "start", "--zone", "eu-1", hub="http://hub.test")[0] == 2
    assert errors(caplog) == ["unknown zone 'eu-1': http://hub.test is a single hub without zones; "
                              "leave out --zone"]


def test_the_starting_hub_down_is_named(two_zones: FakeFederation,
                                        caplog: pytest.LogCaptureFixture) -> None:
    two_zones.zones[0].failure = "timeout"
    assert servers(two_zones, "list")[0] == 2
    assert errors(caplog) == ["the hub at http://eu-1.test did not answer within 10 s"]


def test_start_sends_the_options_and_prints_the_progress(two_zones: FakeFederation) -> None:
    two_zones.zones[1].progress = [
        {"progress": 0, "message": "Server requested"},
        {"progress": 50, "message": "Spawning server..."},
        {"progress": 100, "ready": True, "message": "Server ready at /user/alice/", "url": "/user/alice/",
         "html_message": "<a>...</a>"},
    ]
    status, out = servers(two_zones, "start", "--zone", "eu-2", "--profile", "large", "--mount-token")
    assert status == 0
    assert out == ("[  0%] Server requested\n[ 50%] Spawning server...\n"
                   "[100%] Server ready at /user/alice/\nready: http://eu-2.test/user/alice/\n")
    assert ("POST", "http://eu-2.test/services/jwt/users/alice/server",
            {"user_options": {"mount_access_token": True, "profile": "large"}}) in two_zones.requests


def test_a_failed_start_exits_1_with_the_hubs_reason(two_zones: FakeFederation,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    two_zones.zones[0].progress = [{"progress": 100, "failed": True,
                                    "message": "Spawn failed: Not enough credits to start profile 'small'"}]
    status, out = servers(two_zones, "start", "--json")
    assert status == 1
    assert json.loads(out.splitlines()[0])["event"]["failed"] is True
    assert errors(caplog) == ["zone eu-1 (http://eu-1.test): Spawn failed: Not enough credits to start "
                              "profile 'small'"]


def test_an_unknown_profile_lists_the_zones_profiles(two_zones: FakeFederation,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    assert servers(two_zones, "start", "--profile", "huge")[0] == 2
    assert errors(caplog) == ["zone eu-1 (http://eu-1.test) has no profile 'huge'; its profiles: small, "
                              "large"]
    assert not [r for r in two_zones.requests if r[0] == "POST"]


def test_stop(two_zones: FakeFederation) -> None:
    assert servers(two_zones, "stop") == (0, "stopped: (default) in eu-1\n")
    assert servers(two_zones, "stop", "--json") == (
        0, '{"zone": "eu-1", "server": "", "stopped": true, "was_running": false}\n')


def test_credits_with_a_short_lived_hub_token_revoked_afterwards(two_zones: FakeFederation) -> None:
    two_zones.zones[0].wallets = [
        {"wallet": "user:alice", "balance": 4.5, "unlimited": False, "spending_per_hour": 72.0,
         "runway_seconds": 225, "servers": [{"server": "alice/", "profile": "small", "price_per_hour": 72,
                                             "zone": "eu-2"}]}]
    status, out = servers(two_zones, "credits")
    assert status == 0
    assert cells(out.splitlines()[1]) == ["eu-1", "user:alice", "4.5", "72", "3 min", "alice/ (small, eu-2)"]
    assert cells(out.splitlines()[2]) == ["eu-2", "-", "off", "-", "-", "-"]
    assert not [r for r in two_zones.requests if r[1].startswith("http://eu-2.test")], \
        "the directory says eu-2 has no credits: nothing to ask it"
    created = [body for method, url, body in two_zones.requests
               if method == "POST" and url.endswith("/tokens")]
    assert created == [{"expires_in": 60, "note": "notebooks servers credits (revoked after use)",
                        "scopes": ["access:services!service=credits"]}]
    assert two_zones.tokens == {}, "the hub token was not revoked"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_zone_that_never_answers_costs_one_timeout(silent_port: int,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    args = _parser().parse_args(["servers", "list", "--hub", f"http://127.0.0.1:{silent_port}",
                                 "--timeout", "0.5"])
    started = time.monotonic()
    status = run(args, {"OIDC_ACCESS_TOKEN": jwt_token()}, io.StringIO())
    elapsed = time.monotonic() - started
    assert status == 2
    assert errors(caplog) == [f"the hub at http://127.0.0.1:{silent_port} did not answer within 0.5 s"]
    assert elapsed < 2, elapsed


def test_output_never_carries_the_token(two_zones: FakeFederation,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = jwt_token()
    outputs: list[Any] = [servers(two_zones, action, "--json", token=token)[1]
                          for action in ("list", "stop", "credits")]
    assert token not in "".join(outputs) + caplog.text


def test_credits_off_makes_no_hub_token() -> None:
    single = FakeFederation([FakeZone("hub")], directory=False)
    status, out = servers(single, "credits", "--json", hub="http://hub.test")
    assert status == 0
    assert json.loads(out) == {"zones": [{"zone": None, "url": "http://hub.test", "status": "off"}]}
    assert not [r for r in single.requests if r[1].endswith("/tokens")]
