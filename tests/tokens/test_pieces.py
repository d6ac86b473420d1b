"""The pure pieces, without a running service: release decisions, save paths, env tokens, options, sink."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from notebooks_service.config.schema import TokensSection
from notebooks_service.singleuser.paths import BadPath, save_destination
from notebooks_service.spawner.options import SpawnOptionError
from notebooks_service.tokens.env import env_tokens
from notebooks_service.tokens.mount_option import MountAccessTokenOption, wants_token
from notebooks_service.tokens.release.core import Refusal, check_caller, check_server
from notebooks_service.tokens.sink import DirectorySink

SERVER_SCOPES = ["access:servers!server=alice/", "users:activity!user=alice"]


@pytest.mark.parametrize(("number", "identity", "server", "reason"), [
    (1, None, "", "not a valid hub token"),
    (2, {"kind": "user", "name": "bob", "scopes": ["access:servers!server=bob/"]}, "", "only alice's"),
    (3, {"kind": "service", "name": "alice", "scopes": SERVER_SCOPES}, "", "only alice's"),
    (4, {"kind": "user", "name": "alice", "scopes": ["access:servers!user=alice"]}, "", "server's own"),
    (5, {"kind": "user", "name": "alice", "scopes": SERVER_SCOPES}, "gpu", "server's own"),
])
def test_caller_refusals(number: int, identity: dict | None, server: str, reason: str) -> None:
    with pytest.raises(Refusal, match=reason) as refused:
        check_caller(identity, "alice", server)
    assert refused.value.status == 403, number


def test_the_servers_own_token_is_accepted() -> None:
    check_caller({"kind": "user", "name": "alice", "scopes": SERVER_SCOPES}, "alice", "")


@pytest.mark.parametrize(("model", "reason"), [
    (None, "not running"),
    ({"servers": {}}, "not running"),
    ({"servers": {"": {"ready": False}}}, "not running"),
    ({"servers": {"": {"ready": True, "state": {"oidc_token_exposed": True}}}}, "restart it"),
])
def test_server_refusals(model: dict | None, reason: str) -> None:
    with pytest.raises(Refusal, match=reason):
        check_server(model, "alice", "")


@pytest.mark.parametrize(("requested", "allowed"), [
    ("token.txt", True),
    ("sub/dir/token.txt", True),
    ("~/token.txt", False),  # ~ is the test process's home, not the server's
    ("../token.txt", False),
    ("/etc/token.txt", False),
    ("", False),
    (".", False),
])
def test_save_destinations(tmp_path: Path, requested: str, allowed: bool) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if allowed:
        assert save_destination(requested, home, None).is_relative_to(home)
    else:
        with pytest.raises(BadPath):
            save_destination(requested, home, None)


def test_token_dir_is_allowed_except_the_managed_files(tmp_path: Path) -> None:
    home, secrets = tmp_path / "home", tmp_path / "secrets"
    home.mkdir()
    secrets.mkdir()
    assert save_destination(str(secrets / "saved"), home, secrets) == secrets / "saved"
    with pytest.raises(BadPath, match="managed by the hub"):
        save_destination(str(secrets / "access_token"), home, secrets)


def test_env_tokens_read_fields_and_skip_missing_ones() -> None:
    state = {"access_token": "at", "token_response": {"scope": "openid"}}
    mapping = {"GCUBE_TOKEN": "access_token", "SCOPE": "token_response.scope", "NONE": "missing"}
    assert env_tokens(mapping, state, "alice") == {"GCUBE_TOKEN": "at", "SCOPE": "openid"}
    assert env_tokens(mapping, None, "alice") == {}


@pytest.mark.parametrize(("env", "ok"), [("GCUBE_TOKEN", True), ("gcube", False), ("OIDC_X", False),
                                         ("JUPYTERHUB_API_TOKEN", False)])
def test_env_token_names_are_checked(env: str, ok: bool) -> None:
    if ok:
        TokensSection(env_tokens={env: "access_token"})
    else:
        with pytest.raises(ValidationError):
            TokensSection(env_tokens={env: "access_token"})


def test_mount_option() -> None:
    section = MountAccessTokenOption()
    assert section.options_from_form({}) == {"mount_access_token": False}
    assert section.options_from_form({"mount_access_token": ["on"]}) == {"mount_access_token": True}
    assert section.validate(None, {}) == {"mount_access_token": False}
    with pytest.raises(SpawnOptionError):
        section.validate(None, {"mount_access_token": "yes"})
    assert "checked" not in section.form_html(None)
    assert wants_token({"mount_access_token": True}) and not wants_token({"mount_access_token": 1})


async def test_directory_sink_modes_and_removal(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path / "run" / "alice")
    await sink.write({"access_token": "a", "id_token": "i"})
    assert stat.S_IMODE(sink.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((sink.directory / "access_token").stat().st_mode) == 0o600
    await sink.write({"access_token": "b"})
    assert await sink.read("access_token") == "b"
    assert await sink.read("id_token") is None
    assert sorted(p.name for p in sink.directory.iterdir()) == ["access_token"]
    await sink.remove()
    await sink.remove()
    assert not sink.directory.exists()
