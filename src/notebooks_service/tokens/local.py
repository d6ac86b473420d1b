"""Token delivery for local-process servers: a per-user directory outside the home, only for its owner."""

from __future__ import annotations

from pathlib import Path

from traitlets import Unicode

from notebooks_service.spawner.local import LocalHomeSpawner, home_directory_name
from notebooks_service.tokens.delivery import TokenDeliveryMixin
from notebooks_service.tokens.sink import DirectorySink, TokenSink


class LocalTokenSpawner(TokenDeliveryMixin, LocalHomeSpawner):
    """The local home spawner with the owner's tokens in `<token_secrets_root>/<user>[-<server>]`."""

    token_secrets_root = Unicode(
        config=True,
        help="Directory holding one token directory per running server (mode 0700, files 0600). "
        "Keep it outside the homes so that files saved in a home never mix with mounted tokens.",
    )

    def make_token_sink(self) -> TokenSink:
        name = home_directory_name(self.user.name)
        if self.name:
            name = f"{name}--{home_directory_name(self.name)}"
        return DirectorySink(Path(self.token_secrets_root) / name)
