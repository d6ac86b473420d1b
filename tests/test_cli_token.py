"""`notebooks token` prints a verifiable access token; the authenticator rejects forged ID tokens."""

from __future__ import annotations

import subprocess
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tornado import web

from notebooks_service.auth.authenticator import NotebooksAuthenticator
from tests.stack import Stack, command_env, notebooks_command


def run_token(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        notebooks_command("token", "--data-dir", str(stack.data_dir), *args),
        capture_output=True, text=True, timeout=60, env=command_env(),
    )


def test_token_command_prints_a_signed_token(stack: Stack) -> None:
    result = run_token(stack, "--user", "alice", "--password", "notebooks")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    jwks = httpx.get(f"{stack.issuer}/jwks").json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(token, key=key, algorithms=["RS256"], issuer=stack.issuer,
                        options={"verify_aud": False})
    assert claims["preferred_username"] == "alice"
    assert claims["eduperson_entitlement"] == ["researchers"]
    assert claims["exp"] > time.time()


def test_token_command_wrong_password_is_a_clear_error(stack: Stack) -> None:
    result = run_token(stack, "--user", "alice", "--password", "nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "refused to issue a token for alice" in result.stderr


@pytest.mark.real_stack  # runs `notebooks token`
def test_token_command_without_running_service(tmp_path) -> None:
    result = subprocess.run(
        notebooks_command("token", "--data-dir", str(tmp_path), "--user", "a", "--password", "b"),
        capture_output=True, text=True, timeout=60, env=command_env())
    assert result.returncode == 1
    assert "notebooks up" in result.stderr


def _forged_id_token(stack: Stack) -> str:
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    real_kid = httpx.get(f"{stack.issuer}/jwks").json()["keys"][0]["kid"]
    now = int(time.time())
    return jwt.encode({"iss": stack.issuer, "aud": "notebooks-hub", "sub": "admin",
                       "preferred_username": "admin", "eduperson_entitlement": ["admins"],
                       "iat": now, "exp": now + 300}, attacker_key, algorithm="RS256",
                      headers={"kid": real_kid})


async def test_authenticator_rejects_a_forged_id_token(stack: Stack) -> None:
    authenticator = NotebooksAuthenticator(issuer=stack.issuer, client_id="notebooks-hub",
                                           userdata_url="")
    with pytest.raises(web.HTTPError) as refused:
        await authenticator.token_to_user({"id_token": _forged_id_token(stack),
                                           "access_token": "opaque", "token_type": "Bearer"})
    assert refused.value.status_code == 403
