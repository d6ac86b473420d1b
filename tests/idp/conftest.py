"""Fixtures that run the real development IdP as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from notebooks_service.config.schema import DevIdpSection
from notebooks_service.idp.settings import IdpClient, IdpSettings
from notebooks_service.launcher.ports import free_port

HUB = IdpClient(
    client_id="notebooks-hub",
    client_secret="hub-secret",
    redirect_uris=["http://127.0.0.1:9/hub/oauth_callback"],
)
SPA = IdpClient(client_id="public-app", redirect_uris=["http://127.0.0.1:9/app/callback"])
CLI = IdpClient(client_id="notebooks-cli", grant_types=["password", "refresh_token"])
OPAQUE = IdpClient(
    client_id="opaque-service",
    client_secret="opaque-secret",
    redirect_uris=["http://127.0.0.1:9/opaque/callback"],
    access_token_format="opaque",
)
CLIENTS = [HUB, SPA, CLI, OPAQUE]

START_TIMEOUT = 30.0


@dataclass
class IdpProcess:
    """One IdP subprocess; `restart()` keeps the same port and state dir."""

    settings: IdpSettings
    settings_path: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    exit_codes: list[int] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.issuer, follow_redirects=False, timeout=10)

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "notebooks_service.idp", "--settings",
                 str(self.settings_path)],
                stdout=log, stderr=log, env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"IdP exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.issuer}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"IdP did not become healthy:\n{self.log_path.read_text()}")

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code (0 means a clean shutdown)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.exit_codes.append(code)
        self.proc = None
        return code

    def restart(self) -> None:
        self.stop()
        self.start()


StartIdp = Callable[..., IdpProcess]


@pytest.fixture
def start_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartIdp]:
    """Start IdP subprocesses on free ports with their own state dirs; stops them afterwards.

    Keyword arguments override `dev_idp` fields (e.g. `refresh_token_lifetime=1`).
    """
    started: list[IdpProcess] = []

    def start(clients: list[IdpClient] | None = None, **dev_idp: Any) -> IdpProcess:
        base = tmp_path_factory.mktemp("idp")
        port = free_port()
        settings = IdpSettings(
            issuer=f"http://127.0.0.1:{port}",
            port=port,
            state_dir=str(base / "state"),
            dev_idp=DevIdpSection(**dev_idp),
            clients=clients if clients is not None else CLIENTS,
        )
        settings_path = base / "settings.json"
        settings_path.write_text(settings.model_dump_json(indent=2))
        idp = IdpProcess(settings, settings_path, base / "idp.log")
        started.append(idp)
        idp.start()
        return idp

    yield start
    for idp in started:
        if idp.proc is not None:
            idp.stop()
    for idp in started:
        assert all(code == 0 for code in idp.exit_codes), idp.log_path.read_text()


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdpProcess]:
    """One IdP with default lifetimes, shared by a test module."""
    base = tmp_path_factory.mktemp("idp-shared")
    port = free_port()
    settings = IdpSettings(
        issuer=f"http://127.0.0.1:{port}",
        port=port,
        state_dir=str(base / "state"),
        dev_idp=DevIdpSection(),
        clients=CLIENTS,
    )
    settings_path = base / "settings.json"
    settings_path.write_text(settings.model_dump_json(indent=2))
    process = IdpProcess(settings, settings_path, base / "idp.log")
    process.start()
    yield process
    assert process.stop() == 0, process.log_path.read_text()
