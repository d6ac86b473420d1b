"""The spawner mixin delivering the owner's tokens into a server, for any spawner.

A concrete spawner only says where the files go (`make_token_sink`) and where the server sees them
(`TokenSink.server_path`); this mixin writes them before the server starts, hands the server to the
background refresher, picks running servers up again after a hub restart, and removes the files when
the server stops.
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Dict, HasTraits, Unicode

from notebooks_service.tokens.contract import (
    ACCESS_TOKEN_FILE,
    ACCESS_TOKEN_FILE_ENV,
    ID_TOKEN_FILE,
    ID_TOKEN_FILE_ENV,
    RELEASE_URL_ENV,
)
from notebooks_service.tokens.env import env_tokens
from notebooks_service.tokens.mount_option import wants_token
from notebooks_service.tokens.refresher import TokenRefresher
from notebooks_service.tokens.sink import TokenSink

EXPOSED_STATE_KEY = "oidc_token_exposed"
"""Spawner state flag: the server was shared since it started, so the release service refuses it."""


class TokenDeliveryMixin(HasTraits):
    """Mount the owner's OIDC tokens into a server that opted in, and keep them fresh."""

    env_tokens = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Environment variables set at start from auth_state fields, e.g.
        ``{"GCUBE_TOKEN": "access_token"}``. Set once and never refreshed; collaborators of a shared
        server can read them.""",
    )
    token_service_url = Unicode(
        "",
        config=True,
        help="URL at which the server reaches the token-release service (``NOTEBOOKS_TOKENS_URL``).",
    )
    token_exposed = Bool(False, help="The server was shared since it started (see EXPOSED_STATE_KEY).")

    def make_token_sink(self) -> TokenSink:
        """Where this spawner keeps a server's token files; provided by the concrete spawner."""
        raise NotImplementedError

    @property
    def token_sink(self) -> TokenSink:
        """Made anew each time (cheap): names it depends on may change with the spawner's state."""
        return self.make_token_sink()

    @property
    def token_refresher(self) -> TokenRefresher:
        return TokenRefresher.instance(config=self.config)  # type: ignore[attr-defined]

    def mark_token_exposed(self) -> None:
        """Record, in the hub database, that this run of the server was shared."""
        self.token_exposed = True
        self.orm_spawner.state = self.get_state()  # type: ignore[attr-defined]
        self.db.commit()  # type: ignore[attr-defined]

    async def start(self) -> Any:
        await self.token_refresher.watch(self, deliver_now=True)
        auth_state = await self.user.get_auth_state()  # type: ignore[attr-defined]
        self._token_env = env_tokens(self.env_tokens, auth_state, self.user.name)  # type: ignore[attr-defined]
        try:
            return await super().start()  # type: ignore[misc]
        except BaseException:
            await self._stop_token_delivery()
            raise

    async def stop(self, now: bool = False) -> Any:
        """Remove the token files, then stop the server even if removing them failed: a server the
        hub records as stopped must really stop."""
        await self._stop_token_delivery()
        return await super().stop(now=now)  # type: ignore[misc]

    async def poll(self) -> int | None:
        """Also where a hub restart finds running servers again (their refresh resumes), and where a
        server that ended by itself is noticed: the hub calls `stop` only for a running server, so
        its token files are removed and its refresh ended here."""
        status = await super().poll()  # type: ignore[misc]
        if status is None:
            if not self._stop_pending:  # type: ignore[attr-defined]
                await self.token_refresher.watch(self, deliver_now=False)
        elif self.token_refresher.watching(self):
            self.log.info("%s ended by itself: removing its token files",  # type: ignore[attr-defined]
                          self._log_name)  # type: ignore[attr-defined]
            await self._stop_token_delivery()
        return status

    async def _stop_token_delivery(self) -> None:
        """End the refresh and remove the files; a failure is logged, never raised, so that the
        stop or poll calling this carries on."""
        await self.token_refresher.unwatch(self)
        try:
            await self.token_sink.remove()
        except Exception:
            self.log.exception("Removing the token files of %s failed",  # type: ignore[attr-defined]
                               self._log_name)  # type: ignore[attr-defined]

    def get_env(self) -> dict[str, str]:
        env = super().get_env()  # type: ignore[misc]
        if self.token_service_url:
            env[RELEASE_URL_ENV] = self.token_service_url
        if wants_token(self.user_options):  # type: ignore[attr-defined]
            directory = self.token_sink.server_path
            env[ACCESS_TOKEN_FILE_ENV] = f"{directory}/{ACCESS_TOKEN_FILE}"
            env[ID_TOKEN_FILE_ENV] = f"{directory}/{ID_TOKEN_FILE}"
        env.update(getattr(self, "_token_env", {}))
        return env

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()  # type: ignore[misc]
        if self.token_exposed:
            state[EXPOSED_STATE_KEY] = True
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)  # type: ignore[misc]
        self.token_exposed = bool(state.get(EXPOSED_STATE_KEY))

    def clear_state(self) -> None:
        super().clear_state()  # type: ignore[misc]
        self.token_exposed = False
