"""Minting, recording and looking up tokens: the part of the IdP that knows what a token says.

Access tokens are RS256 JWTs (or opaque strings for clients that ask for them) so that the hub and
services can verify them offline; every one is also recorded so that revocation and introspection
work for both formats.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

import jwt
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oidc.core.util import create_half_hash

from notebooks_service.config.schema import DevUser

from .keys import ALGORITHM, SigningKey
from .models import DEFAULT_SCOPE, AccessToken, Client, LoggedInUser, RefreshToken
from .settings import IdpSettings
from .store import Store, now, token_hash

log = logging.getLogger(__name__)


class TokenService:
    """Issues and resolves the IdP's tokens; shared by grants, userinfo, introspection, revoke."""

    def __init__(self, settings: IdpSettings, key: SigningKey, store: Store) -> None:
        self.settings = settings
        self.key = key
        self.store = store
        self.lifetimes = settings.dev_idp
        self._users = {u.username: u for u in settings.dev_idp.users}

    # -- users --------------------------------------------------------------------------------

    def user(self, username: str) -> DevUser | None:
        return self._users.get(username)

    def check_password(self, username: str, password: str) -> DevUser | None:
        """The user if the password matches; compares in constant time either way."""
        user = self._users.get(username)
        expected = self.settings.dev_idp.password_of(user) if user else secrets.token_hex(16)
        ok = secrets.compare_digest(expected.encode(), password.encode())
        return user if ok and user else None

    def profile_claims(self, user: DevUser) -> dict[str, Any]:
        """The claims every token, id token and userinfo response carries about a user."""
        claims: dict[str, Any] = {"sub": user.username, "preferred_username": user.username}
        if user.email:
            claims["email"] = user.email
            claims["email_verified"] = True
        if user.name:
            claims["name"] = user.name
        claims[self.settings.groups_claim] = list(user.groups)
        return claims

    # -- issuing (authlib token generator + save_token) --------------------------------------

    def generate(
        self,
        grant_type: str,
        client: Client,
        user: LoggedInUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """authlib's token generator: the token response body (recorded later by `save`)."""
        if user is None:
            raise ValueError("the development IdP only issues tokens for users")
        scope = scope or DEFAULT_SCOPE
        lifetime = expires_in or self.lifetimes.access_token_lifetime
        issued = now()
        if client.config.access_token_format == "jwt":
            claims = {
                "iss": self.settings.issuer,
                "aud": client.client_id,
                "iat": issued,
                "nbf": issued,
                "exp": issued + lifetime,
                "jti": uuid.uuid4().hex,
                "client_id": client.client_id,
                "scope": scope,
                **self.profile_claims(user.user),
            }
            access_token = self.key.sign(claims, typ="at+jwt")
        else:
            access_token = secrets.token_urlsafe(32)
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": lifetime,
            "scope": scope,
        }
        if include_refresh_token and client.check_grant_type("refresh_token"):
            token["refresh_token"] = secrets.token_urlsafe(48)
        return token

    def save(self, token: dict[str, Any], family_id: str, client: Client, username: str) -> None:
        """Record a freshly generated token response under its family (hashes only)."""
        access = token["access_token"]
        scope = token["scope"]
        if client.config.access_token_format == "jwt":
            claims = jwt.decode(access, options={"verify_signature": False})
            token_id, kind = claims["jti"], "jwt"
            issued, expires = claims["iat"], claims["exp"]
        else:
            token_id, kind = token_hash(access), "opaque"
            issued = now()
            expires = issued + token["expires_in"]
        self.store.save_access(
            token_id, kind, family_id, client.client_id, username, scope, issued, expires
        )
        if refresh := token.get("refresh_token"):
            issued = now()
            self.store.save_refresh(
                refresh, family_id, client.client_id, username, scope,
                issued, issued + self.lifetimes.refresh_token_lifetime,
            )
        log.info(
            "Issued %s access token%s to %s for %s (scope %r)",
            kind, " + refresh token" if "refresh_token" in token else "",
            client.client_id, username, scope,
        )

    def id_token(
        self, token: dict[str, Any], request: OAuth2Request, user: LoggedInUser
    ) -> str:
        """An RS256 ID token for the client, echoing the nonce of the authorization request."""
        issued = now()
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": request.client.client_id,
            "azp": request.client.client_id,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetimes.id_token_lifetime,
            "auth_time": user.auth_time,
            **self.profile_claims(user.user),
        }
        code = request.authorization_code
        if code is not None and (nonce := code.get_nonce()):
            claims["nonce"] = nonce
        if at_hash := create_half_hash(token["access_token"], ALGORITHM):
            claims["at_hash"] = at_hash.decode()
        return self.key.sign(claims)

    # -- looking up ---------------------------------------------------------------------------

    def find_access_token(self, value: str) -> AccessToken | None:
        """The recorded access token for a JWT (verified) or opaque string, else None."""
        if value.count(".") == 2:
            try:
                claims = self.key.verify(value, self.settings.issuer)
            except jwt.PyJWTError:
                return None
            token_id = str(claims.get("jti", ""))
        else:
            token_id = token_hash(value)
        row = self.store.get_access(token_id)
        if row is None or (user := self.user(row.username)) is None:
            return None
        return AccessToken(row, user)

    def find_refresh_token(self, value: str) -> RefreshToken | None:
        row = self.store.get_refresh(value)
        if row is None or (user := self.user(row.username)) is None:
            return None
        return RefreshToken(row, user)

    def find_token(self, value: str, hint: str | None) -> AccessToken | RefreshToken | None:
        """Look a token up as the hint suggests first, then as the other kind (RFC 7009/7662)."""
        finders = [self.find_access_token, self.find_refresh_token]
        if hint == "refresh_token":
            finders.reverse()
        for find in finders:
            if found := find(value):
                return found
        return None

    def revoke(self, token: AccessToken | RefreshToken) -> None:
        """Revoke one access token, or a refresh token together with its whole family."""
        if isinstance(token, RefreshToken):
            self.store.revoke_family(token.row.family_id)
            log.info("Revoked refresh token family %s", token.row.family_id)
        else:
            self.store.revoke_access(token.row.token_id)
            log.info("Revoked access token %s", token.row.token_id[:12])

    def introspection(self, token: AccessToken | RefreshToken) -> dict[str, Any]:
        """RFC 7662 response members for an active token."""
        row = token.row
        payload: dict[str, Any] = {
            "active": True,
            "iss": self.settings.issuer,
            "aud": row.client_id,
            "client_id": row.client_id,
            "username": row.username,
            "scope": row.scope,
            "iat": row.issued_at,
            "exp": row.expires_at,
            "token_type": "Bearer" if isinstance(token, AccessToken) else "refresh_token",
            **self.profile_claims(token.user),
        }
        if isinstance(token, AccessToken):
            payload["nbf"] = row.issued_at
            if row.kind == "jwt":
                payload["jti"] = row.token_id
        return payload
