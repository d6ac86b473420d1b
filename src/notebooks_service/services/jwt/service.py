"""Wiring: settings in, a running tornado server out, and a clean shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from tornado import web
from tornado.httpserver import HTTPServer

from notebooks_service.oidc.discovery import ProviderMetadata, discover_async
from notebooks_service.oidc.introspect import Introspector
from notebooks_service.oidc.verify import JwtVerifier
from notebooks_service.services.jwt.app import make_app
from notebooks_service.services.jwt.hub import HubAdmin, UserTokens
from notebooks_service.services.jwt.identity import BearerAuth
from notebooks_service.services.jwt.settings import Settings
from notebooks_service.services.jwt.upstream import Upstream

log = logging.getLogger(__name__)


def hub_http_client() -> httpx.AsyncClient:
    """One keep-alive client for every hub call; no compression, bodies are relayed raw."""
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        headers={"accept-encoding": "identity"},
        timeout=httpx.Timeout(30.0, connect=10.0),
    )


@dataclass
class JwtService:
    """The pure async core plus the tornado application that exposes it."""

    settings: Settings
    metadata: ProviderMetadata
    auth: BearerAuth
    upstream: Upstream
    app: web.Application
    hub_http: httpx.AsyncClient
    idp_http: httpx.AsyncClient

    @classmethod
    async def create(cls, settings: Settings, metadata: ProviderMetadata | None = None,
                     **app_settings: object) -> JwtService:
        oidc, knobs = settings.oidc, settings.knobs
        idp_http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        if metadata is None:
            metadata = await discover_async(oidc.issuer, client=idp_http)
        verifier = JwtVerifier(
            metadata, algorithms=oidc.signature_algorithms, audience=oidc.audience or None,
            leeway=knobs.leeway, min_jwks_refetch_interval=knobs.min_jwks_refetch_interval,
            http=idp_http,
        )
        introspector = None
        if metadata.introspection_endpoint and oidc.client_secret:
            introspector = Introspector(metadata, oidc.client_id, oidc.client_secret,
                                        http=idp_http)
        else:
            log.warning("no introspection endpoint or client secret: opaque tokens are refused")
        auth = BearerAuth(oidc, verifier, introspector,
                          introspection_cache_seconds=knobs.introspection_cache_seconds,
                          cache_size=knobs.identity_cache_size)
        hub_http = hub_http_client()
        tokens = UserTokens(HubAdmin(hub_http, settings.api_url, settings.api_token),
                            max_lifetime=knobs.hub_token_max_lifetime)
        upstream = Upstream(hub_http, settings.api_url, tokens, timeout=knobs.hub_timeout)
        app = make_app(settings.prefix, auth, upstream, **app_settings)
        return cls(settings, metadata, auth, upstream, app, hub_http, idp_http)

    def listen(self, host: str | None = None, port: int | None = None) -> HTTPServer:
        server = HTTPServer(self.app, xheaders=True)
        server.listen(self.settings.bind_port if port is None else port,
                      self.settings.bind_host if host is None else host)
        return server

    async def close(self) -> None:
        """Revoke the hub tokens we minted and close the HTTP clients."""
        await self.upstream.tokens.revoke_all()
        await self.hub_http.aclose()
        await self.idp_http.aclose()
