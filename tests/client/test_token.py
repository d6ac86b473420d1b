"""Where `notebooks servers` finds the access token, and how it refuses an expired one."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from notebooks_service.client.commands import hub_url
from notebooks_service.client.errors import ClientError
from notebooks_service.client.token import AccessToken, find_token
from tests.client.fake_zones import jwt_token


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_token_file_comes_first(tmp_path: Path) -> None:
    token = find_token(write(tmp_path / "t", "from-file\n"), {"OIDC_ACCESS_TOKEN": "from-env"})
    assert (token.value, token.source) == ("from-file", str(tmp_path / "t"))


def test_an_unreadable_token_file_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match=r"cannot read --token-file .*/absent: No such file"):
        find_token(tmp_path / "absent", {"OIDC_ACCESS_TOKEN": "from-env"})


def test_environment_variable_then_session_files(tmp_path: Path) -> None:
    session = write(tmp_path / "access_token", "from-session")
    mounted = write(tmp_path / "mounted", "from-mounted-file")
    assert find_token(None, {"OIDC_ACCESS_TOKEN": " from-env\n"}, [session]).value == "from-env"
    assert find_token(None, {"OIDC_ACCESS_TOKEN_FILE": str(mounted)}, [session]).value == \
        "from-mounted-file"
    found = find_token(None, {"OIDC_ACCESS_TOKEN_FILE": str(tmp_path / "gone")}, [session])
    assert (found.value, found.source) == ("from-session", str(session))


def test_no_token_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ClientError) as raised:
        find_token(None, {}, [tmp_path / "oidc" / "access_token", tmp_path / "egi" / "access_token"])
    assert str(raised.value) == (
        "no access token found; looked at --token-file (not given), $OIDC_ACCESS_TOKEN (unset), "
        f"$OIDC_ACCESS_TOKEN_FILE (unset), {tmp_path}/oidc/access_token (absent), "
        f"{tmp_path}/egi/access_token (absent)")


def test_default_session_files_are_the_seeds() -> None:
    from notebooks_service.client.token import SESSION_TOKEN_FILES

    assert [str(p) for p in SESSION_TOKEN_FILES] == ["/var/run/secrets/oidc/access_token",
                                                      "/var/run/secrets/egi.eu/access_token"]


def test_an_empty_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match=r"token file .*/t is empty"):
        find_token(write(tmp_path / "t", "\n"), {})


def test_expired_token_says_when() -> None:
    token = AccessToken(jwt_token(expires_in=-600), "$OIDC_ACCESS_TOKEN")
    with pytest.raises(ClientError) as raised:
        token.check_not_expired()
    message = str(raised.value)
    assert re.fullmatch(r"the access token from \$OIDC_ACCESS_TOKEN expired at "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(10 min ago\): get a fresh one", message)
    assert token.value not in message


def test_fresh_and_opaque_tokens_pass() -> None:
    AccessToken(jwt_token(expires_in=60), "x").check_not_expired()
    opaque = AccessToken("an-opaque-token", "x")
    opaque.check_not_expired(now=time.time() + 10**9)
    assert opaque.issuer is None
    assert "an-opaque-token" not in repr(opaque)


def test_hub_url_sources() -> None:
    assert hub_url("https://eu-1.example.org/", {"NOTEBOOKS_URL": "x"}) == "https://eu-1.example.org"
    assert hub_url(None, {"NOTEBOOKS_URL": "http://127.0.0.1:8000/"}) == "http://127.0.0.1:8000"
    assert hub_url(None, {"JUPYTERHUB_PUBLIC_HUB_URL": "https://nb.example.org/prefix/hub/"}) == \
        "https://nb.example.org/prefix"
    with pytest.raises(ClientError, match=r"no hub to start from: pass --hub URL or set \$NOTEBOOKS_URL"):
        hub_url(None, {"JUPYTERHUB_PUBLIC_HUB_URL": ""})
