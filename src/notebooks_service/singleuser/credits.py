"""`GET <server>/notebooks-credits/wallet`: which credits wallet pays for this server, for the lab's
status-bar item and warnings.

The browser then asks the credits service itself, with its own hub token (JupyterLab's page token,
which carries `access:services!service=credits`), so the server's `JUPYTERHUB_API_TOKEN`, readable
by anyone running code in it, never needs access to wallets. Only the owner is told the wallet:
a collaborator of a shared server gets an empty answer, and the credits service would refuse them
the owner's wallet anyway. The answer is empty too when credits are off, so nothing shows.
"""

from __future__ import annotations

import os

from jupyter_server.base.handlers import APIHandler
from tornado import web

WALLET_ENV = "NOTEBOOKS_CREDITS_WALLET"
PAGE_URL_ENV = "NOTEBOOKS_CREDITS_URL"


class CreditsWalletHandler(APIHandler):
    def initialize(self, owner: str) -> None:
        self.owner = owner

    @web.authenticated
    def get(self) -> None:
        wallet = os.environ.get(WALLET_ENV, "")
        page_url = os.environ.get(PAGE_URL_ENV, "")
        if getattr(self.current_user, "username", None) != self.owner or not page_url:
            wallet = page_url = ""
        self.set_header("Cache-Control", "no-store")
        self.finish({"wallet": wallet, "page_url": page_url})
