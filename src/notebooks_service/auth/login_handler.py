"""`/hub/oauth_login`: wait (bounded) for the IdP's endpoints before redirecting to it.

oauthenticator's handler reads the authorization URL synchronously. Ours first awaits the
authenticator's asynchronous discovery, so a silent IdP costs this one request a few seconds and a
clear page, instead of stalling the hub's event loop for everybody.
"""

from __future__ import annotations

from oauthenticator.oauth2 import OAuthLoginHandler


class DiscoveringLoginHandler(OAuthLoginHandler):
    async def get(self) -> None:  # type: ignore[override]
        await self.authenticator.discovered()
        super().get()
