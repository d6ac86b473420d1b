"""RFC 7662 introspection, RFC 7009 revocation and the /userinfo bearer check."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from ..models import CONFIDENTIAL_AUTH_METHODS, AccessToken, Client, RefreshToken
from ..tokens import TokenService

Token = AccessToken | RefreshToken


class Introspection(IntrospectionEndpoint):
    """Any confidential client (the hub, services) may introspect any token."""

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def __init__(self, server: Any, tokens: TokenService) -> None:
        super().__init__(server)
        self.tokens = tokens

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.tokens.find_token(token_string, token_type_hint)

    def check_permission(self, token: Token, client: Client, request: Any) -> bool:
        return not client.is_public

    def introspect_token(self, token: Token) -> dict[str, Any]:
        return self.tokens.introspection(token)


class Revocation(RevocationEndpoint):
    """Clients revoke their own tokens; public clients identify themselves by client_id."""

    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]

    def __init__(self, server: Any, tokens: TokenService) -> None:
        super().__init__(server)
        self.tokens = tokens

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.tokens.find_token(token_string, token_type_hint)

    def revoke_token(self, token: Token, request: Any) -> None:
        self.tokens.revoke(token)


class UserinfoBearer(BearerTokenValidator):
    """Accepts an access token at /userinfo only if it verifies, is recorded and not revoked."""

    def __init__(self, tokens: TokenService) -> None:
        super().__init__()
        self.tokens = tokens

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.tokens.find_access_token(token_string)
