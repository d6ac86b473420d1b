"""The endpoints the "Access token" panel calls, under `<server>/notebooks-token/`.

Every endpoint serves the server's owner only: a collaborator of a shared server is refused here, and
the hub's release service refuses shared servers anyway.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from notebooks_service.singleuser.keeper import Keeper
from notebooks_service.singleuser.paths import BadPath, save_destination, save_token
from notebooks_service.singleuser.release_client import NotReleased, ServerIdentity, fetch_token
from notebooks_service.tokens.contract import ACCESS_TOKEN_FILE_ENV


class TokenPanelHandler(APIHandler):
    """Common checks and helpers."""

    def initialize(self, identity: ServerIdentity, keeper: Keeper, home: Path) -> None:
        self.identity = identity
        self.keeper = keeper
        self.home = home

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        user = self.current_user
        if user is not None and getattr(user, "username", None) != self.identity.owner:
            raise web.HTTPError(403, "only the owner of this server can use their access token here")

    @property
    def token_dir(self) -> Path | None:
        mounted = os.environ.get(ACCESS_TOKEN_FILE_ENV)
        return Path(mounted).parent if mounted else None

    def reply(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return data

    def destination(self, requested: Any) -> Path:
        try:
            return save_destination(str(requested or ""), self.home, self.token_dir)
        except BadPath as exc:
            raise web.HTTPError(400, str(exc)) from None


class TokenHandler(TokenPanelHandler):
    @web.authenticated
    async def get(self) -> None:
        try:
            token = await fetch_token(self.identity)
        except NotReleased as exc:
            self.reply(exc.status, {"message": str(exc)})
            return
        self.reply(200, token.answer())


class SettingsHandler(TokenPanelHandler):
    @web.authenticated
    async def get(self) -> None:
        token_dir = self.token_dir
        self.reply(200, {
            "mounted": token_dir is not None,
            "token_dir": str(token_dir) if token_dir else None,
            "home": str(self.home),
            "keep": self.keeper.state(),
        })


class SaveHandler(TokenPanelHandler):
    @web.authenticated
    async def post(self) -> None:
        target = self.destination(self.body().get("path"))
        try:
            token = await fetch_token(self.identity)
        except NotReleased as exc:
            self.reply(exc.status, {"message": str(exc)})
            return
        try:
            save_token(target, token.access_token)
        except OSError as exc:
            raise web.HTTPError(400, f"cannot write {target}: {exc.strerror}") from None
        self.reply(200, {"path": str(target), "expires_at": token.expires_at})


class KeepHandler(TokenPanelHandler):
    @web.authenticated
    async def put(self) -> None:
        data = self.body()
        enabled = data.get("enabled")
        if not isinstance(enabled, bool):
            raise web.HTTPError(400, "enabled must be true or false")
        target = self.destination(data.get("path")) if enabled else None
        await self.keeper.configure(enabled, target)
        self.reply(200, {"keep": self.keeper.state()})
