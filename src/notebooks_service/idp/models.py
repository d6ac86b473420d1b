"""Adapters between the IdP's settings/sqlite rows and the model interfaces authlib expects."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin

from notebooks_service.config.schema import DevUser

from .settings import IdpClient
from .store import AccessRow, CodeRow, RefreshRow, now

SCOPES_SUPPORTED = ["openid", "profile", "email", "offline_access"]
DEFAULT_SCOPE = "openid profile email"
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class LoggedInUser:
    """A dev user plus when they typed their password (the OIDC `auth_time`)."""

    user: DevUser
    auth_time: int


class Client(ClientMixin):
    """A registered client; public clients authenticate with method "none" only."""

    def __init__(self, config: IdpClient) -> None:
        self.config = config
        self.client_id = config.client_id

    @property
    def is_public(self) -> bool:
        return self.config.is_public

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.config.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return DEFAULT_SCOPE
        return list_to_scope([s for s in scope_to_list(scope) if s in SCOPES_SUPPORTED])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.config.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        secret = self.config.client_secret
        return bool(secret) and hmac.compare_digest(secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            # Public clients may use the token and revocation endpoints, never introspection.
            return method == "none" and endpoint in ("token", "revocation")
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.config.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.config.grant_types


class AuthorizationCode(AuthorizationCodeMixin):
    """A stored code as the authorization-code grant and the PKCE/OIDC extensions read it."""

    def __init__(self, row: CodeRow) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method
        self.family_id: str | None = None

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return self.row.auth_time


class _IssuedToken(TokenMixin):
    """What access and refresh tokens share: a stored row, its client, scope and lifetime."""

    def __init__(self, row: AccessRow | RefreshRow, user: DevUser) -> None:
        self.row = row
        self.user = user

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return self.row.expires_at - self.row.issued_at

    def is_expired(self) -> bool:
        return self.row.expires_at <= now()

    def get_user(self) -> DevUser:
        return self.user


class AccessToken(_IssuedToken):
    """An issued access token (JWT or opaque), looked up by jti or hash."""

    token_type = "access_token"
    row: AccessRow

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.row.family_revoked_at is not None


class RefreshToken(_IssuedToken):
    """An issued refresh token; a rotated one counts as revoked."""

    token_type = "refresh_token"
    row: RefreshRow

    def is_revoked(self) -> bool:
        return (
            self.row.revoked_at is not None
            or self.row.rotated_at is not None
            or self.row.family_revoked_at is not None
        )
