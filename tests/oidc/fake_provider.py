"""A tiny real OIDC provider for tests: discovery, JWKS and introspection over loopback HTTP.

It runs on the test's own event loop (tornado on asyncio), signs tokens with keys generated here and
counts the requests it receives, so tests can assert what reached the provider.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any
    publish_alg: bool = True

    def jwk(self) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.alg)
        data = json.loads(algo.to_jwk(self.private.public_key()))
        data.update(kid=self.kid, use="sig")
        if self.publish_alg:
            data["alg"] = self.alg
        return data


def new_key(kid: str, alg: str = "RS256") -> SigningKey:
    """A fresh key pair for `alg` (RS*/PS* -> RSA 2048, ES256 -> P-256, ES384 -> P-384)."""
    if alg.startswith(("RS", "PS")):
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=kid, alg=alg, private=private)


@dataclass
class FakeProvider:
    """State of one fake issuer; `start()` serves it on a free loopback port."""

    client_id: str = "notebooks-hub"
    client_secret: str = "s3cret"
    keys: list[SigningKey] = field(
        default_factory=lambda: [new_key("rsa-1"), new_key("ec-1", "ES256")])
    hits: dict[str, int] = field(
        default_factory=lambda: {"discovery": 0, "jwks": 0, "introspect": 0})
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Opaque token -> introspection answer."""
    fail_jwks: bool = False
    issuer: str = ""
    port: int = 0
    _server: HTTPServer | None = None

    def start(self) -> FakeProvider:
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}/realm"
        app = web.Application([
            (r"/realm/\.well-known/openid-configuration", _Discovery, {"p": self}),
            (r"/realm/jwks", _Jwks, {"p": self}),
            (r"/realm/introspect", _Introspect, {"p": self}),
        ])
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    async def shutdown(self) -> None:
        """Stop as a dead process would: no listener and no open keep-alive connections."""
        server = self._server
        self.stop()
        if server is not None:
            await server.close_all_connections()

    def discovery(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "introspection_endpoint": f"{base}/introspect",
        }

    def key(self, kid: str) -> SigningKey:
        return next(k for k in self.keys if k.kid == kid)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": "sub-alice", "aud": "notebooks-hub",
            "iat": now, "nbf": now, "exp": now + 300,
            "preferred_username": "alice", "eduperson_entitlement": ["researchers"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid: str = "rsa-1", alg: str | None = None, headers: dict | None = None,
              **claims: Any) -> str:
        key = self.key(kid)
        return jwt.encode(self.claims(**claims), key.private, algorithm=alg or key.alg,
                          headers={"kid": kid, **(headers or {})})

    def opaque_token(self, active: bool = True, **fields: Any) -> str:
        token = secrets.token_urlsafe(24)
        answer: dict[str, Any] = {"active": active}
        if active:
            answer.update(self.claims(**fields))
        self.opaque[token] = answer
        return token

    def claims_of(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this provider issued and still vouches for, else None."""
        if token.count(".") != 2:
            answer = self.opaque.get(token)
            return answer if answer and answer.get("active") else None
        try:
            header = jwt.get_unverified_header(token)
            key = next(k for k in self.keys if k.kid == header.get("kid"))
            return jwt.decode(token, key.private.public_key(), algorithms=[key.alg],
                              options={"verify_aud": False})
        except (StopIteration, jwt.PyJWTError):
            return None


class _Base(web.RequestHandler):
    def initialize(self, p: FakeProvider) -> None:
        self.p = p

    def check_xsrf_cookie(self) -> None:
        return None


class _Discovery(_Base):
    def get(self) -> None:
        self.p.hits["discovery"] += 1
        self.write(self.p.discovery())


class _Jwks(_Base):
    def get(self) -> None:
        self.p.hits["jwks"] += 1
        if self.p.fail_jwks:
            raise web.HTTPError(503)
        self.write({"keys": [k.jwk() for k in self.p.keys]})


class _Introspect(_Base):
    def post(self) -> None:
        self.p.hits["introspect"] += 1
        expected = base64.b64encode(f"{self.p.client_id}:{self.p.client_secret}".encode()).decode()
        if self.request.headers.get("Authorization") != f"Basic {expected}":
            raise web.HTTPError(401)
        token = self.get_body_argument("token", "")
        self.write(self.p.opaque.get(token, {"active": False}))


def hs256_with_public_key(provider: FakeProvider, kid: str = "rsa-1") -> str:
    """The classic key-confusion forgery: HS256 keyed with the provider's public key."""
    from cryptography.hazmat.primitives import serialization

    pem = provider.key(kid).private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps(header).encode()) + "." + b64(
        json.dumps(provider.claims()).encode())
    sig = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


def unsigned_token(provider: FakeProvider, kid: str = "rsa-1") -> str:
    """`alg: none` with an empty signature."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "none", "typ": "JWT", "kid": kid}
    body = b64(json.dumps(provider.claims()).encode())
    return b64(json.dumps(header).encode()) + "." + body + "."


def tamper_signature(token: str) -> str:
    """The same token with one signature byte flipped."""
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def attack_tokens(provider: FakeProvider, other: FakeProvider) -> dict[str, str]:
    """Every token the issue's attack suite requires to be refused with 401 (by name)."""
    good = provider.token()
    now = int(time.time())
    return {
        "alg-none": unsigned_token(provider),
        "hs256-public-key": hs256_with_public_key(provider),
        "bad-signature": tamper_signature(good),
        "expired": provider.token(exp=now - 3600, iat=now - 7200, nbf=now - 7200),
        "not-yet-valid": provider.token(nbf=now + 3600, iat=now),
        "wrong-issuer": provider.token(iss="https://evil.example.org/realm"),
        "wrong-audience": provider.token(aud="someone-else"),
        "unknown-kid": provider.token(headers={"kid": "nobody-knows-me"}),
        "other-issuer": other.token(),
        "other-issuer-claiming-ours": other.token(iss=provider.issuer),
        "truncated": good[: len(good) // 2],
        "huge-header": "eyJ" + "A" * (1024 * 1024) + "." + good.split(".", 1)[1],
        "non-ascii": "é☃" * 40 + "." + "\u0000ü" * 10 + ".x",
        "revoked-opaque": provider.opaque_token(active=False),
    }
