"""OpenID Connect client pieces shared by the authenticator and the JWT service."""

from notebooks_service.oidc.discovery import (
    DiscoveryError,
    ProviderMetadata,
    discover,
    discover_async,
)
from notebooks_service.oidc.introspect import Introspector
from notebooks_service.oidc.verify import (
    USE_DEFAULT,
    InvalidToken,
    JwtVerifier,
    ProviderUnavailable,
)

__all__ = [
    "USE_DEFAULT",
    "DiscoveryError",
    "Introspector",
    "InvalidToken",
    "JwtVerifier",
    "ProviderMetadata",
    "ProviderUnavailable",
    "discover",
    "discover_async",
]
