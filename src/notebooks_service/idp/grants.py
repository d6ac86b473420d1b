"""authlib grants wired to the IdP's store: authorization code (+PKCE, OIDC), refresh, password.

The security-relevant choices live here: S256-only PKCE that public clients must use, single-use
codes whose replay revokes what they produced, and rotating refresh tokens whose replay revokes
the whole family.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from authlib.oidc.core import OpenIDCode, OpenIDToken

from .models import AuthorizationCode, Client, LoggedInUser, RefreshToken
from .store import CodeRow, now
from .tokens import TokenService

log = logging.getLogger(__name__)

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; mandatory for public clients already at the authorization request."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        client: Client = grant.request.client
        if not challenge and client.is_public:
            raise InvalidRequestError("Public clients must use PKCE ('code_challenge', S256).")
        if challenge and method != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class _IdTokens:
    """Signs ID tokens through the IdP's own key and claims instead of authlib's JWT config."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    def encode_id_token(self, token: dict[str, Any], request: OAuth2Request) -> str:
        return self.tokens.id_token(token, request, request.user)

    def generate_user_info(self, user: LoggedInUser, scope: str) -> dict[str, Any]:
        return self.tokens.profile_claims(user.user)


class IdTokenForCode(_IdTokens, OpenIDCode):
    """OIDC for the code flow: nonce replay check, prompt handling, id_token in the response."""

    def __init__(self, tokens: TokenService) -> None:
        _IdTokens.__init__(self, tokens)
        OpenIDCode.__init__(self, require_nonce=False)

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self.tokens.store.nonce_used(request.payload.client_id, nonce)


class IdTokenForOtherGrants(_IdTokens, OpenIDToken):
    """Adds an id_token to refresh and password grant responses when `openid` is in scope."""


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    tokens: TokenService  # set by `bound_grants`

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        user: LoggedInUser = request.user
        data = request.payload.data
        self.tokens.store.save_code(
            code,
            CodeRow(
                code_hash="",
                client_id=request.client.client_id,
                username=user.user.username,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                auth_time=user.auth_time,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=now() + self.tokens.lifetimes.authorization_code_lifetime,
                used_at=None,
                family_id=None,
            ),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        row = self.tokens.store.get_code(code)
        if row is None or row.client_id != client.client_id:
            return None
        if row.used_at is not None:
            self._revoke_after_replay(row.family_id)
            return None
        if row.expires_at <= now():
            return None
        return AuthorizationCode(row)

    def _revoke_after_replay(self, family_id: str | None) -> None:
        log.warning("Authorization code reused: revoking the tokens issued from it")
        if family_id:
            self.tokens.store.revoke_family(family_id)

    def create_token_response(self) -> tuple[int, Any, Any]:
        code: AuthorizationCode = self.request.authorization_code
        family_id = self.tokens.store.claim_code(
            code.row.code_hash, code.row.client_id, code.row.username, code.row.auth_time
        )
        if family_id is None:  # a concurrent request redeemed it first
            self._revoke_after_replay(self.tokens.store.get_code_family(code.row.code_hash))
            raise InvalidGrantError("Invalid 'code' in request.")
        code.family_id = family_id
        return super().create_token_response()

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: `claim_code` marked it used (kept to detect replays)."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> LoggedInUser | None:
        user = self.tokens.user(authorization_code.row.username)
        return LoggedInUser(user, authorization_code.row.auth_time) if user else None


ROTATION_RETRY_SECONDS = 30
"""How long a client may repeat a refresh whose answer it never received (a timeout after the IdP
rotated the token) before the repetition counts as theft and revokes the token family."""


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    tokens: TokenService

    retried = False
    """This request repeats a refresh whose answer its client lost (see `Store.retry_rotation`)."""

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        token = self.tokens.find_refresh_token(refresh_token)
        if token is None:
            return None
        row = token.row
        if row.rotated_at is not None and row.family_revoked_at is None:
            if not token.is_expired() and self.tokens.store.retry_rotation(
                    row.token_hash, row.family_id, ROTATION_RETRY_SECONDS):
                log.info("Refresh retried within %ds (family %s): the unreceived token is revoked",
                         ROTATION_RETRY_SECONDS, row.family_id)
                self.retried = True
                return token
            log.warning("Rotated refresh token reused: revoking its family %s", row.family_id)
            self.tokens.store.revoke_family(row.family_id)
            return None
        if token.is_revoked() or token.is_expired():
            return None
        return token

    def create_token_response(self) -> tuple[int, Any, Any]:
        token: RefreshToken = self.request.refresh_token
        if not self.retried and not self.tokens.store.rotate_refresh(token.row.token_hash):
            self.tokens.store.revoke_family(token.row.family_id)
            raise InvalidGrantError("Refresh token already used.")
        return super().create_token_response()

    def authenticate_user(self, refresh_token: RefreshToken) -> LoggedInUser | None:
        return LoggedInUser(refresh_token.user, refresh_token.row.auth_time)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        """Nothing to do: `rotate_refresh` retired it before the new one was issued."""


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    """Resource-owner password grant, only for clients that list "password" (the CLI)."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    tokens: TokenService

    def authenticate_user(self, username: str, password: str) -> LoggedInUser:
        user = self.tokens.check_password(username, password)
        if user is None:
            log.info("Password grant refused for %r", username)
            raise InvalidGrantError("Invalid username or password.")
        return LoggedInUser(user, now())


def bound_grants(tokens: TokenService) -> list[type[grants.BaseGrant]]:
    """Grant classes that know this app's token service (authlib instantiates one per request)."""
    return [
        type(cls.__name__, (cls,), {"tokens": tokens})
        for cls in (AuthorizationCodeGrant, RefreshTokenGrant, PasswordGrant)
    ]


def family_for(request: OAuth2Request, tokens: TokenService) -> str:
    """The token family a token response belongs to, opening one for a password login."""
    if request.authorization_code is not None:
        return request.authorization_code.family_id
    if request.refresh_token is not None:
        return request.refresh_token.row.family_id
    user: LoggedInUser = request.user
    return tokens.store.new_family(request.client.client_id, user.user.username, user.auth_time)


__all__ = [
    "AuthorizationCodeGrant",
    "IdTokenForCode",
    "IdTokenForOtherGrants",
    "PasswordGrant",
    "RefreshTokenGrant",
    "S256CodeChallenge",
    "bound_grants",
    "family_for",
]
