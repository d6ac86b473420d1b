"""A tiny real OIDC provider for tests: discovery, JWKS, introspection and a code flow over loopback.

It runs on the test's own event loop (tornado on asyncio), or on its own thread for tests that drive a
real hub in another process (`serve_in_thread`). It signs tokens with keys generated here, counts the
requests it receives, so tests can assert what reached the provider, and can misbehave on demand:
refuse userinfo, fail the token endpoint, or accept connections and never answer (`silent`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.httputil import url_concat
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


RSA_POOL_SIZE = 16
"""RSA keys handed out before one comes round again: more than any single test uses."""
_rsa_pool: list[Any] = []
_rsa_turn = itertools.count()


def rsa_key() -> Any:
    """An RSA 2048 private key different from the last RSA_POOL_SIZE - 1 ones handed out. Generating one
    takes about 70 ms and the fast tier asks for a few hundred, so the keys of a small pool are reused
    across tests: within a test (a provider and another one, a key and its replacement) they differ."""
    turn = next(_rsa_turn)
    if len(_rsa_pool) < RSA_POOL_SIZE:
        _rsa_pool.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _rsa_pool[-1]
    return _rsa_pool[turn % RSA_POOL_SIZE]


def new_key(kid: str, alg: str = "RS256") -> SigningKey:
    """A key pair for `alg` (RS*/PS* -> RSA 2048 from the pool, ES256 -> P-256, ES384 -> P-384)."""
    if alg.startswith(("RS", "PS")):
        private: Any = rsa_key()
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
    """Requests per endpoint; the code-flow endpoints appear once asked."""
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Opaque token -> introspection answer."""
    fail_jwks: bool = False
    login_claims: dict[str, Any] = field(default_factory=dict)
    """Claim overrides of the user the authorization endpoint logs in (no form: approved at once)."""
    access_token_audience: str = "https://api.example.org"
    """`aud` of the JWT access tokens (RFC 9068): a resource server, not this client."""
    userinfo_status: int = 200
    """Anything but 200: userinfo refuses every access token with this status."""
    userinfo_override: dict[str, Any] = field(default_factory=dict)
    """Claims userinfo answers over the token's own (e.g. another `sub`, as a forger would)."""
    token_failure: tuple[int, str] | None = None
    """(status, body) the token endpoint answers instead of tokens."""
    id_token_on_refresh: bool = True
    """False: refreshes answer without an ID token (OIDC Core 12.2 allows it)."""
    silent: bool = False
    """Accept connections and requests, never answer (a hung IdP)."""
    issuer: str = ""
    port: int = 0
    _server: HTTPServer | None = None
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> FakeProvider:
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}/realm"
        app = web.Application([
            (r"/realm/\.well-known/openid-configuration", _Discovery, {"p": self}),
            (r"/realm/jwks", _Jwks, {"p": self}),
            (r"/realm/introspect", _Introspect, {"p": self}),
            (r"/realm/auth", _Authorize, {"p": self}),
            (r"/realm/token", _Token, {"p": self}),
            (r"/realm/userinfo", _Userinfo, {"p": self}),
        ])
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def behave(self) -> None:
        """Back to answering every request normally (undo the misbehaviour knobs)."""
        self.silent = False
        self.fail_jwks = False
        self.userinfo_status = 200
        self.userinfo_override = {}
        self.token_failure = None
        self.id_token_on_refresh = True
        self.login_claims = {}

    def serve_in_thread(self) -> FakeProvider:
        """Serve from a thread of its own, for tests that block (a hub in another process)."""
        ready = threading.Event()

        async def begin() -> None:
            self.start()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(begin())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.shutdown())
            loop.close()

        threading.Thread(target=run, name="fake-oidc-provider", daemon=True).start()
        assert ready.wait(10), "the fake provider did not start"
        return self

    def stop_thread(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

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

    def issue(self, claims: dict[str, Any], *, refresh: bool = True) -> dict[str, Any]:
        """A token endpoint answer for the user of `claims`: JWT access and ID tokens."""
        access = self.token(**{**claims, "aud": self.access_token_audience,
                               "scope": "openid profile email", "jti": secrets.token_hex(8)})
        answer: dict[str, Any] = {
            "access_token": access, "token_type": "Bearer", "expires_in": 300,
            "id_token": self.token(**claims), "scope": "openid profile email offline_access",
        }
        if refresh:
            refresh_token = secrets.token_urlsafe(24)
            self._codes[f"refresh:{refresh_token}"] = claims
            answer["refresh_token"] = refresh_token
        return answer

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

    async def prepare(self) -> None:
        while self.p.silent:  # a hung provider: the request stays open, unanswered
            await asyncio.sleep(0.2)

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


class _Authorize(_Base):
    """Approves at once (no form) and sends the browser back with a code."""

    def get(self) -> None:
        self.p.hits["authorize"] = self.p.hits.get("authorize", 0) + 1
        code = secrets.token_urlsafe(16)
        self.p._codes[code] = dict(self.p.login_claims)
        self.redirect(url_concat(self.get_argument("redirect_uri"),
                                 {"code": code, "state": self.get_argument("state", "")}))


class _Token(_Base):
    def post(self) -> None:
        self.p.hits["token"] = self.p.hits.get("token", 0) + 1
        if self.p.token_failure is not None:
            status, body = self.p.token_failure
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(body)
            return
        grant = self.get_body_argument("grant_type", "")
        key = (self.get_body_argument("code", "") if grant == "authorization_code"
               else f"refresh:{self.get_body_argument('refresh_token', '')}")
        claims = self.p._codes.pop(key, None)
        if claims is None:
            self.set_status(400)
            self.finish({"error": "invalid_grant", "error_description": "unknown or used grant"})
            return
        answer = self.p.issue(claims)
        if grant == "refresh_token" and not self.p.id_token_on_refresh:
            del answer["id_token"]
        self.finish(answer)


class _Userinfo(_Base):
    def get(self) -> None:
        self.p.hits["userinfo"] = self.p.hits.get("userinfo", 0) + 1
        if self.p.userinfo_status != 200:
            self.set_status(self.p.userinfo_status)
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token", '
                                                'error_description="audience is not userinfo"')
            self.finish()
            return
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        claims = self.p.claims_of(token)
        if claims is None:
            raise web.HTTPError(401)
        keep = ("sub", "preferred_username", "eduperson_entitlement", "email", "name")
        self.finish({**{k: claims[k] for k in keep if k in claims}, **self.p.userinfo_override})


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
