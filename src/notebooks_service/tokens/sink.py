"""Where a server's token files live, and how they are replaced without a reader seeing half a token.

The spawner mixin talks to a `TokenSink` only, so the local spawner (a directory on this machine) and a
Kubernetes spawner (a Secret mounted at `/var/run/secrets/oidc`) differ in one small class.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Protocol

from notebooks_service.launcher.layout import write_private
from notebooks_service.tokens.contract import TOKEN_FILES

log = logging.getLogger(__name__)


class TokenSink(Protocol):
    """The token files of one server."""

    @property
    def server_path(self) -> str:
        """The directory holding the files, as the server's processes see it."""
        ...

    async def write(self, files: dict[str, str]) -> None:
        """Replace the files atomically with `files` (name -> content); names not given are removed."""
        ...

    async def read(self, name: str) -> str | None:
        """The current content of one file, None if absent."""
        ...

    async def remove(self) -> None:
        """Remove every token file (idempotent)."""
        ...


class DirectorySink:
    """Token files in a local directory only its owner can enter (0700), each file 0600.

    `owner` (uid, gid) is the server's account when servers run as their own accounts; `mounted_at` is
    where the server's sandbox shows the directory (None: the server sees it where it is).
    """

    def __init__(self, directory: Path, owner: tuple[int, int] | None = None,
                 mounted_at: str | None = None) -> None:
        self.directory = directory
        self.owner = owner
        self.mounted_at = mounted_at

    @property
    def server_path(self) -> str:
        return self.mounted_at or str(self.directory)

    async def write(self, files: dict[str, str]) -> None:
        self.directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self.directory.chmod(0o700)
        if self.owner is not None:
            os.chown(self.directory, *self.owner)
        for name in TOKEN_FILES:
            path = self.directory / name
            if name in files:
                write_private(path, files[name], owner=self.owner)
            else:
                path.unlink(missing_ok=True)

    async def read(self, name: str) -> str | None:
        try:
            return (self.directory / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    async def remove(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)
            log.info("Removed token files in %s", self.directory)
