"""Wiring: settings in, a running HTTP server out, and a clean shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
import httpx
from aiohttp import web

from notebooks_service.oidc.discovery import ProviderMetadata, discover_async
from notebooks_service.oidc.introspect import Introspector
from notebooks_service.oidc.verify import JwtVerifier
from notebooks_service.services.hub_api import HubApi
from notebooks_service.services.jwt.app import make_server
from notebooks_service.services.jwt.hub import HubLogin, UserTokens
from notebooks_service.services.jwt.identity import BearerAuth
from notebooks_service.services.jwt.settings import Settings
from notebooks_service.services.jwt.upstream import Upstream, hub_session

log = logging.getLogger(__name__)


@dataclass
class JwtService:
    """The pure async core plus the HTTP server that exposes it."""

    settings: Settings
    metadata: ProviderMetadata
    auth: BearerAuth
    upstream: Upstream
    server: web.Server
    hub_http: aiohttp.ClientSession
    """The relay's connections to the hub."""
    hub_api: HubApi
    """The service's own calls to the hub (bearer-login, token checks and revocations)."""
    idp_http: httpx.AsyncClient
    runner: web.ServerRunner | None = None

    @classmethod
    async def create(cls, settings: Settings, metadata: ProviderMetadata | None = None, *,
                     access_log: bool = False) -> JwtService:
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
        hub_http = hub_session()
        hub_api = HubApi(settings.api_url, settings.api_token)
        tokens = UserTokens(HubLogin(hub_api), max_lifetime=knobs.hub_token_max_lifetime)
        upstream = Upstream(hub_http, settings.api_url, tokens, timeout=knobs.hub_timeout)
        server = make_server(settings.prefix, auth, upstream, access_log=access_log)
        return cls(settings, metadata, auth, upstream, server, hub_http, hub_api, idp_http)

    async def listen(self, host: str | None = None, port: int | None = None) -> int:
        """Start serving; returns the bound port (useful with port 0)."""
        self.runner = web.ServerRunner(self.server)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.bind_host if host is None else host,
                           self.settings.bind_port if port is None else port)
        await site.start()
        return self.runner.addresses[0][1]

    def start_draining(self) -> None:
        """From now on every answer closes its connection (the service is about to stop)."""
        self.server.request_handler.draining = True  # type: ignore[attr-defined]

    async def close(self) -> None:
        """Stop serving, revoke the hub tokens we minted and close the HTTP clients."""
        if self.runner is not None:
            await self.runner.cleanup()
        await self.upstream.tokens.revoke_all()
        await self.hub_http.close()
        await self.hub_api.aclose()
        await self.idp_http.aclose()
