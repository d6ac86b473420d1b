""""Keep refreshed on disk": rewrite a saved token file with every new token, without a browser.

The setting is kept in a small JSON file in the Jupyter data dir (in the home), so the toggle survives
a page reload and a server restart. While the server is shared the file is removed, because the token
in it has been revoked and collaborators could read it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from notebooks_service.singleuser.paths import save_token
from notebooks_service.singleuser.release_client import NotReleased, ServerIdentity, fetch_token

log = logging.getLogger(__name__)

RETRY_AFTER_REFUSAL = 10.0
MAX_SLEEP = 30.0


@dataclass
class KeepSetting:
    enabled: bool = False
    path: str = ""
    error: str = ""
    written_at: float = 0.0


class Keeper:
    """Owns the keep-refreshed setting and the task that honours it."""

    def __init__(self, identity: ServerIdentity, settings_file: Path) -> None:
        self.identity = identity
        self.settings_file = settings_file
        self.setting = self._load()
        self._task: asyncio.Task[None] | None = None

    def _load(self) -> KeepSetting:
        try:
            data = json.loads(self.settings_file.read_text(encoding="utf-8"))
            return KeepSetting(enabled=bool(data.get("enabled")), path=str(data.get("path", "")))
        except (OSError, ValueError):
            return KeepSetting()

    def _save(self) -> None:
        self.settings_file.parent.mkdir(parents=True, exist_ok=True)
        data = {"enabled": self.setting.enabled, "path": self.setting.path}
        self.settings_file.write_text(json.dumps(data), encoding="utf-8")

    def state(self) -> dict[str, object]:
        return asdict(self.setting)

    def start(self) -> None:
        """Resume the loop if the toggle was on (called once when the server starts)."""
        if self.setting.enabled and self._task is None:
            self._task = asyncio.create_task(self._run())

    async def configure(self, enabled: bool, path: Path | None) -> None:
        """Turn keeping on for `path` (already checked by the caller) or off."""
        if self._task:
            self._task.cancel()
            self._task = None
        self.setting = KeepSetting(enabled=enabled, path=str(path) if path else self.setting.path)
        self._save()
        if enabled:
            await self._write_once()
            self._task = asyncio.create_task(self._run())

    async def _write_once(self) -> float:
        """Write the current token; returns how long to wait before looking again."""
        target = Path(self.setting.path)
        try:
            token = await fetch_token(self.identity)
        except NotReleased as exc:
            self.setting.error = str(exc)
            if exc.status == 403:
                target.unlink(missing_ok=True)
            return RETRY_AFTER_REFUSAL
        try:
            if not target.exists() or target.read_text(encoding="utf-8") != token.access_token:
                save_token(target, token.access_token)
                self.setting.written_at = time.time()
        except OSError as exc:
            self.setting.error = f"cannot write {target}: {exc.strerror}"
            return RETRY_AFTER_REFUSAL
        self.setting.error = ""
        return min(max((token.expires_at - time.time()) / 4, 1.0), MAX_SLEEP)

    async def _run(self) -> None:
        while True:
            delay = await self._write_once()
            await asyncio.sleep(delay)
