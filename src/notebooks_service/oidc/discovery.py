"""OIDC discovery: find a provider's endpoints from its issuer URL.

The issuer in the returned document must be the one we asked for, otherwise a misconfigured or
hostile well-known document could make us trust tokens from somebody else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/openid-configuration"
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
_OPTIONAL = ("userinfo_endpoint", "introspection_endpoint", "revocation_endpoint",
             "end_session_endpoint")


@dataclass(frozen=True)
class ProviderMetadata:
    """The subset of an OpenID provider's metadata this project uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    introspection_endpoint: str | None = None
    revocation_endpoint: str | None = None
    end_session_endpoint: str | None = None


class DiscoveryError(Exception):
    """Discovery failed; the message names the URL and the reason on one line."""


def discovery_url(issuer: str) -> str:
    """The well-known configuration URL of `issuer`."""
    return issuer.rstrip("/") + WELL_KNOWN


def parse_metadata(issuer: str, url: str, document: Any) -> ProviderMetadata:
    """Validate a discovery document fetched from `url` for `issuer`."""
    if not isinstance(document, dict):
        raise DiscoveryError(f"{url}: discovery document is not a JSON object")
    missing = [k for k in _REQUIRED if not isinstance(document.get(k), str) or not document[k]]
    if missing:
        raise DiscoveryError(f"{url}: discovery document lacks {', '.join(missing)}")
    if document["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise DiscoveryError(
            f"{url}: document issuer {document['issuer']!r} does not match {issuer!r}"
        )
    optional = {k: document[k] for k in _OPTIONAL if isinstance(document.get(k), str)}
    return ProviderMetadata(**{k: document[k] for k in _REQUIRED}, **optional)


def _document(url: str, response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise DiscoveryError(f"{url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise DiscoveryError(f"{url}: response is not JSON") from None


def discover(issuer: str, timeout: float = 10.0) -> ProviderMetadata:
    """Fetch and validate `issuer`'s metadata (blocking; meant for startup)."""
    url = discovery_url(issuer)
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as e:
        raise DiscoveryError(f"{url}: {type(e).__name__}: {e}".rstrip(": ")) from None
    metadata = parse_metadata(issuer, url, _document(url, response))
    log.debug("discovered OIDC provider %s", metadata.issuer)
    return metadata


async def discover_async(
    issuer: str, client: httpx.AsyncClient | None = None, timeout: float = 10.0
) -> ProviderMetadata:
    """Fetch and validate `issuer`'s metadata, reusing `client` when given."""
    url = discovery_url(issuer)
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as own:
                response = await own.get(url)
        else:
            response = await client.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as e:
        raise DiscoveryError(f"{url}: {type(e).__name__}: {e}".rstrip(": ")) from None
    metadata = parse_metadata(issuer, url, _document(url, response))
    log.debug("discovered OIDC provider %s", metadata.issuer)
    return metadata
