"""User servers as local processes, each with a persistent home in the data dir.

Started as root, the one-machine service runs every server as its owner's own system account in a
sandbox (`notebooks_service.isolation`). Otherwise it is a single-person trial: every server runs as the
invoking user, and isolation between users is by convention only.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Unicode, default

from notebooks_service.isolation.spawner import IsolationMixin
from notebooks_service.spawner.options import SpawnOptionsMixin

_UNSAFE = re.compile(r"[^a-z0-9._-]")


def home_directory_name(username: str) -> str:
    """A filesystem-safe, collision-free directory name for a hub username."""
    safe = _UNSAFE.sub("-", username.lower())
    return safe if safe == username else f"{safe}-{hashlib.sha256(username.encode()).hexdigest()[:8]}"


class LocalHomeSpawner(SpawnOptionsMixin, IsolationMixin, SimpleLocalProcessSpawner):
    """Start `jupyterhub-singleuser` locally with the user's persistent home as working directory."""

    homes_root = Unicode(
        config=True,
        help="Directory under which every user gets a home `<homes_root>/<username>` that is never "
        "deleted by the service.",
    )

    @default("home_dir")
    def _home_dir_default(self) -> str:
        return str(Path(self.homes_root) / home_directory_name(self.user.name))

    @default("default_url")
    def _default_url_default(self) -> str:
        return "/lab"

    @default("notebook_dir")
    def _notebook_dir_default(self) -> str:
        return f"/home/{self.account_name}" if self.isolation else self.home_dir

    @property
    def token_dir(self) -> Path | None:
        """The directory holding the owner's token files, if this spawner delivers tokens."""
        return None

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env = super().user_env(env)
        account = self.account
        if account is not None:
            env.update(USER=account.name, LOGNAME=account.name, HOME=account.sandbox_home)
        return env

    def get_args(self) -> list[str]:
        """Trial servers run as the service's own user; when that is root (containers), say so."""
        args = list(super().get_args())
        if os.geteuid() == 0 and not self.isolation:
            args.append("--ServerApp.allow_root=True")
        return args

    async def stop(self, now: bool = False) -> None:
        """Stop with SIGTERM, then SIGKILL after `term_timeout`: LocalProcessSpawner's SIGINT is skipped.

        A spawned server's stdin is no terminal, so jupyter_server installs no SIGINT handler: SIGINT
        raises KeyboardInterrupt, which stops the event loop without the server's normal shutdown
        (extensions, kernels). After a collaboration session, an AnyIO worker thread of pycrdt then keeps
        the process alive, the SIGTERM that follows 30 s later finds no event loop to stop, and only the
        SIGKILL at 60 s ends it. SIGTERM first runs the normal shutdown; `now` changes nothing.
        """
        pid = self.pid
        await super().stop(now=True)
        status = self.proc.returncode if self.proc is not None and self.proc.pid == pid else None
        self.log.info("Server %s (pid %i) stopped, exit status %s", self._log_name, pid,
                      "unknown" if status is None else status)

    def make_preexec_fn(self, name: str) -> Any:
        home = self.home_dir

        def enter_home() -> None:
            os.makedirs(home, mode=0o700, exist_ok=True)
            os.chdir(home)

        return enter_home
