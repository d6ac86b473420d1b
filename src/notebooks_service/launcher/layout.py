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
    def idp_settings_file(self) -> Path:
        return self.run / "idp-settings.json"

    def create(self) -> None:
        for directory in (self.root, self.secrets, self.homes, self.idp_state, self.run):
            directory.mkdir(parents=True, exist_ok=True)
        for private in (self.secrets, self.idp_state, self.run):
            private.chmod(0o700)

    def secret(self, name: str, nbytes: int = 32) -> str:
        """A hex secret generated on first use and kept (mode 0600) for every later start."""
        path = self.secrets / name
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        value = secrets.token_hex(nbytes)
        write_private(path, value)
        return value


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
