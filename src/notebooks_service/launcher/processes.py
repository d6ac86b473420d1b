"""Child processes of `notebooks up`: start, wait until they answer, stop in order.

Each child gets its own session so that a Ctrl-C in the terminal reaches only the launcher, which then
stops the children in the right order (hub first, so it can stop user servers while the proxy still runs).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A part of the service did not come up; the message says which and why."""


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    ready_url: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log.debug("starting %s: %s", self.name, " ".join(self.argv))
        try:
            self.process = subprocess.Popen(
                self.argv, env={**os.environ, **self.env}, cwd=self.cwd, start_new_session=True
            )
        except OSError as exc:
            raise StartupError(f"cannot start {self.name} ({self.argv[0]}): {exc}") from None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        """Poll `ready_url` until it answers below 500 without redirecting, or fail naming the process."""
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                code = self.process.returncode if self.process else None
                raise StartupError(f"{self.name} exited with status {code} while starting")
            try:
                response = httpx.get(self.ready_url, timeout=2)
                # A redirect means someone else answered for the path (e.g. no proxy route yet).
                if response.status_code < 500 and not response.is_redirect:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = type(exc).__name__
            time.sleep(0.2)
        raise StartupError(f"{self.name} did not answer at {self.ready_url} in {timeout:.0f}s "
                           f"({last_error})")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if not self.running():
            return
        assert self.process is not None
        log.info("stopping %s (pid %s)", self.name, self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %ss, killing it", self.name, timeout)
            self.process.kill()
            self.process.wait()
