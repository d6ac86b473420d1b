"""Where everything lives inside the data dir, named once so every part agrees."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def homes(self) -> Path:
        return self.root / "homes"

    @property
    def secrets_run(self) -> Path:
        """Per-user token directories of running local servers, kept outside the homes."""
        return self.root / "secrets-run"

    @property
    def idp_state(self) -> Path:
        return self.root / "idp"

    @property
    def run(self) -> Path:
        """Files describing the running service (ports, settings); rewritten at every start."""
        return self.root / "run"

    @property
    def hub_db_url(self) -> str:
        return f"sqlite:///{self.root / 'jupyterhub.sqlite'}"

    @property
    def runtime_file(self) -> Path:
        return self.run / "runtime.json"

    @property
    def operator_file(self) -> Path:
        """The validated operator config as this start resolved it, for the hub's services."""
        return self.run / "operator.json"

    @property
    def idp_settings_file(self) -> Path:
        return self.run / "idp-settings.json"

    def create(self) -> None:
        for directory in (self.root, self.secrets, self.homes, self.idp_state, self.run):
            directory.mkdir(parents=True, exist_ok=True)
        # Only the service may enter the data dir: with isolation, servers reach their own home and
        # tokens through the sandbox's mounts, never through these directories.
        for private in (self.root, self.secrets, self.homes, self.idp_state, self.run):
            private.chmod(0o700)

    def secret(self, name: str, nbytes: int = 32) -> str:
        """A hex secret generated on first use and kept (mode 0600) for every later start."""
        path = self.secrets / name
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        value = secrets.token_hex(nbytes)
        write_private(path, value)
        return value


def write_private(path: Path, text: str, owner: tuple[int, int] | None = None) -> None:
    """Write `text` to a file only its owner (by default the writer; else `owner`, uid and gid) can
    read, replacing it atomically: a reader sees the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if owner is not None:
        os.fchown(fd, *owner)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
