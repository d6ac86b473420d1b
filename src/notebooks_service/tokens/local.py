"""Token delivery for local-process servers: a per-user directory outside the home, only for its owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Unicode

from notebooks_service.isolation.sandbox import TOKEN_MOUNTS
from notebooks_service.spawner.local import LocalHomeSpawner, home_directory_name
from notebooks_service.tokens.delivery import TokenDeliveryMixin
from notebooks_service.tokens.sink import DirectorySink, TokenSink

SANDBOX_TOKEN_PATH = f"/var/run/{TOKEN_MOUNTS[0]}"
"""Where a sandboxed server finds its owner's tokens: the path the seeds' notebooks open."""


class LocalTokenSpawner(TokenDeliveryMixin, LocalHomeSpawner):
    """The local home spawner with the owner's tokens in `<token_secrets_root>/<user>[-<server>]`."""

    token_secrets_root = Unicode(
        config=True,
        help="Directory holding one token directory per running server (mode 0700, files 0600). "
        "Keep it outside the homes so that files saved in a home never mix with mounted tokens.",
    )

    @property
    def token_dir(self) -> Path:
        name = home_directory_name(self.user.name)
        if self.name:
            name = f"{name}--{home_directory_name(self.name)}"
        return Path(self.token_secrets_root) / name

    def make_token_sink(self) -> TokenSink:
        account = self.account
        if account is None:
            return DirectorySink(self.token_dir)
        return DirectorySink(self.token_dir, owner=(account.uid, account.gid), mounted_at=SANDBOX_TOKEN_PATH)

    async def start(self) -> Any:
        """The account comes first: token files are written for it before the server starts."""
        await self.ensure_account()
        return await super().start()
