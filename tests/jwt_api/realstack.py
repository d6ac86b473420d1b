"""Helpers for `/services/jwt` against the real stack: tokens, forged tokens, hub-log probes.

Shared by `test_jwt_e2e.py` and `benchmarks/jwt_throughput.py` (which puts this directory and
`tests/oidc` on `sys.path`, as the test conftest does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fake_provider import (
    FakeProvider,
    SigningKey,
    hs256_with_public_key,
    tamper_signature,
    unsigned_token,
)

from tests.stack import DEMO_PASSWORD, Stack, command_env, notebooks_command, wait_until


def oidc_token(stack: Stack, user: str, password: str = DEMO_PASSWORD) -> str:
    """An access token of `user` from the development IdP, exactly as a user gets one."""
    result = subprocess.run(
        notebooks_command("token", "--user", user, "--password", password,
                          "--data-dir", str(stack.data_dir)),
        capture_output=True, text=True, timeout=60, env=command_env(), check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_api(stack: Stack, token: str) -> httpx.Client:
    """A client of `<hub>/services/jwt` (through the proxy) carrying `token`."""
    return httpx.Client(base_url=f"{stack.hub_url}/services/jwt", headers=bearer(token),
                        timeout=120)


def wait_for_jwt_route(stack: Stack) -> None:
    """Wait until the proxy routes `/services/jwt` to the service (it answers 401 unauthenticated).

    `notebooks up` reports ready once the service answers on its own port; the hub adds the
    proxy route a moment later, and until then the hub itself answers (301 to the slash URL).
    """
    wait_until(lambda: httpx.get(f"{stack.hub_url}/services/jwt/").status_code == 401, 60, 0.2,
               "the proxy route to /services/jwt")


def real_idp(stack: Stack) -> FakeProvider:
    """The stack's IdP as a (not started) FakeProvider holding its real signing key.

    Signing with the IdP's own key makes every forged token differ from a genuine one only in the
    property under test (expiry, issuer, audience...), so a refusal is for that reason alone.
    """
    pem = (stack.data_dir / "idp" / "signing-key.pem").read_bytes()
    kid = httpx.get(f"{stack.issuer}/jwks").json()["keys"][0]["kid"]
    key = SigningKey(kid=kid, alg="RS256", private=load_pem_private_key(pem, password=None))
    return FakeProvider(keys=[key], issuer=stack.issuer)


def forged_attacks(idp: FakeProvider, other: FakeProvider) -> dict[str, tuple[str, str]]:
    """Attack name -> (token, the service's expected 401 message); `idp` as from `real_idp`."""
    kid = idp.keys[0].kid
    good = idp.token(kid)
    now = int(time.time())
    return {
        "alg-none": (unsigned_token(idp, kid), "signature algorithm not allowed"),
        "hs256-public-key": (hs256_with_public_key(idp, kid), "signature algorithm not allowed"),
        "bad-signature": (tamper_signature(good), "bad signature"),
        "expired": (idp.token(kid, exp=now - 3600, iat=now - 7200, nbf=now - 7200),
                    "token expired"),
        "not-yet-valid": (idp.token(kid, nbf=now + 3600), "token not yet valid"),
        "wrong-issuer": (idp.token(kid, iss="https://evil.example.org/realm"), "wrong issuer"),
        "unknown-kid": (idp.token(kid, headers={"kid": "nobody-knows-me"}),
                        "unknown signing key"),
        "other-issuer": (other.token(), "unknown signing key"),
        "other-issuer-claiming-ours": (other.token(iss=idp.issuer), "unknown signing key"),
        "truncated": (good[: len(good) // 2], "token is not active"),  # not a JWT: introspected
        "non-ascii": ("é☃" * 40 + "." + "ü" * 10 + ".x", "token contains invalid characters"),
        "unknown-opaque": (uuid.uuid4().hex, "token is not active"),
    }


class HubProbe:
    """Tells whether requests reached the hub: each gets a unique path, looked up in the hub's log.

    The hub logs every API request it answers with a non-2xx status (a request for an unknown
    user is one) under its `/hub/api/...` path; the JWT service's own log shows `/services/jwt/...`.
    """

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.paths: list[str] = []

    def path(self, label: str) -> str:
        """A `/services/jwt`-relative path naming a user that does not exist."""
        path = f"/users/zz-{label}-{uuid.uuid4().hex[:8]}"
        self.paths.append(path)
        return path

    def reached(self, path: str) -> bool:
        return f"GET /hub/api{path} " in self.stack.log()

    def assert_none_reached(self, valid_token: str) -> None:
        """After a control request that does reach the hub is logged, none of `paths` may be."""
        control = f"/users/zz-control-{uuid.uuid4().hex[:8]}"
        response = httpx.get(f"{self.stack.hub_url}/services/jwt{control}",
                             headers=bearer(valid_token), timeout=60)
        assert response.status_code in (403, 404), response.text
        wait_until(lambda: self.reached(control), 10, 0.1, "the control request in the hub log")
        reached = [p for p in self.paths if self.reached(p)]
        assert not reached, f"reached the hub: {reached}"


@contextmanager
def paused(stack: Stack, process: str) -> Iterator[int]:
    """SIGSTOP one part of the stack (it stays 'running', so the launcher leaves it alone)."""
    pid = stack.pids()[process]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)
