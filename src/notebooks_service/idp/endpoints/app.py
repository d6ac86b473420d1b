"""The Flask application of the development IdP: routes on top of authlib's server classes.

NOT FOR PRODUCTION: users and passwords come from a config file, there is no consent screen,
no rate limiting and no account lockout.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.integrations.flask_oauth2 import (
    AuthorizationServer,
    ResourceProtector,
    current_token,
)
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import Flask, Response, jsonify, redirect, render_template, request, session

from ..grants import (
    IdTokenForCode,
    IdTokenForOtherGrants,
    S256CodeChallenge,
    bound_grants,
    family_for,
)
from ..keys import SigningKey, ensure_private_dir, write_secret_file
from ..models import SCOPES_SUPPORTED, Client, LoggedInUser
from ..settings import IdpSettings
from ..store import Store, now
from ..tokens import TokenService
from .token_endpoints import Introspection, Revocation, UserinfoBearer

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SESSION_SECRET_FILE = "session-secret"
SESSION_COOKIE = "notebooks_dev_idp_session"
INVALID_LOGIN = "Invalid username or password."


def _session_secret(state_dir: Path) -> bytes:
    """A cookie-signing secret kept across restarts, so browser sessions survive them too."""
    path = state_dir / SESSION_SECRET_FILE
    if not path.exists():
        write_secret_file(path, secrets.token_hex(32).encode())
    return path.read_bytes().strip()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def discovery_document(settings: IdpSettings) -> dict[str, Any]:
    """OpenID Provider metadata (OIDC Discovery 1.0 / RFC 8414)."""
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "password"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "none",
        ],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username",
            "email", "email_verified", "name", settings.groups_claim,
        ],
        "prompt_values_supported": ["none", "login"],
    }


def make_app(settings: IdpSettings) -> Flask:
    """Build the IdP's WSGI app: keys and state are loaded from (or created in) `state_dir`."""
    state_dir = ensure_private_dir(settings.state_dir)
    if urlsplit(settings.issuer).scheme == "http":
        # authlib refuses plain http except on loopback; this IdP is for development only.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

    key = SigningKey.load_or_create(state_dir)
    store = Store(state_dir)
    store.purge_expired(keep_used_codes_for=settings.dev_idp.refresh_token_lifetime)
    tokens = TokenService(settings, key, store)
    clients = {c.client_id: Client(c) for c in settings.clients}

    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.update(
        SECRET_KEY=_session_secret(state_dir),
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.issuer.startswith("https://"),
    )
    app.extensions["notebooks_idp"] = {"tokens": tokens, "store": store, "key": key}

    def save_token(token: dict[str, Any], req: Any) -> None:
        tokens.save(token, family_for(req, tokens), req.client, req.user.user.username)

    server = AuthorizationServer(app, query_client=clients.get, save_token=save_token)
    server.scopes_supported = SCOPES_SUPPORTED
    server.register_token_generator("default", tokens.generate)
    code_grant, refresh_grant, password_grant = bound_grants(tokens)
    server.register_grant(code_grant, [S256CodeChallenge(required=True), IdTokenForCode(tokens)])
    server.register_grant(refresh_grant, [IdTokenForOtherGrants(tokens)])
    server.register_grant(password_grant, [IdTokenForOtherGrants(tokens)])
    server.register_endpoint(Introspection(server, tokens))
    server.register_endpoint(Revocation(server, tokens))
    require_token = ResourceProtector()
    require_token.register_token_validator(UserinfoBearer(tokens))

    def session_user() -> LoggedInUser | None:
        username, auth_time = session.get("username"), session.get("auth_time")
        user = tokens.user(username) if isinstance(username, str) else None
        return LoggedInUser(user, int(auth_time)) if user and auth_time else None

    def error_page(error: OAuth2Error) -> Response:
        """Redirect errors only to a validated redirect_uri; otherwise show them here (400)."""
        if error.redirect_uri:
            return server.handle_error_response(None, error)
        log.info("Refused authorization request: %s (%s)", error.error, error.description)
        body = render_template("error.html", error=error.error, description=error.description)
        return Response(body, status=400, mimetype="text/html")

    def login_form(error: str = "", status: int = 200) -> Response:
        body = render_template(
            "login.html",
            action=request.full_path,
            client_id=request.values.get("client_id", ""),
            username=request.form.get("username", ""),
            error=error,
        )
        return Response(body, status=status, mimetype="text/html",
                        headers={"Cache-Control": "no-store"})

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    @app.get("/.well-known/openid-configuration")
    @app.get("/.well-known/oauth-authorization-server")
    def discovery() -> Response:
        return jsonify(discovery_document(settings))

    @app.get("/jwks")
    def jwks() -> Response:
        return jsonify(key.jwks())

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Response:
        current = session_user()
        try:
            grant = server.get_consent_grant(end_user=current)
        except OAuth2Error as error:
            return error_page(error)
        if request.method == "GET":
            wants_login = "login" in (scope_to_list(request.args.get("prompt")) or [])
            if current is None or wants_login:
                return login_form()
            return server.create_authorization_response(grant=grant, grant_user=current)

        username = request.form.get("username", "")
        user = tokens.check_password(username, request.form.get("password", ""))
        if user is None:
            log.info("Failed login for %r", username)
            return login_form(INVALID_LOGIN, status=401)
        logged_in = LoggedInUser(user, now())
        session.clear()
        session.update(username=user.username, auth_time=logged_in.auth_time)
        log.info("User %s logged in", user.username)
        return server.create_authorization_response(grant=grant, grant_user=logged_in)

    @app.post("/token")
    def token() -> Response:
        return server.create_token_response()

    @app.post("/introspect")
    def introspect() -> Response:
        return server.create_endpoint_response(Introspection.ENDPOINT_NAME)

    @app.post("/revoke")
    def revoke() -> Response:
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.route("/userinfo", methods=["GET", "POST"])
    @require_token()
    def userinfo() -> Response:
        return jsonify(tokens.profile_claims(current_token.user))

    registered_origins = {_origin(u) for c in settings.clients for u in c.redirect_uris}

    @app.route("/logout", methods=["GET", "POST"])
    def logout() -> Response:
        """RP-initiated logout, kept simple: forget the session, go back only to a known origin."""
        if username := session.get("username"):
            log.info("User %s logged out", username)
        session.clear()
        target = request.values.get("post_logout_redirect_uri", "")
        if target and _origin(target) in registered_origins:
            if state := request.values.get("state"):
                target += ("&" if "?" in target else "?") + urlencode({"state": state})
            return redirect(target)
        return Response(render_template("logged_out.html"), mimetype="text/html")

    return app
