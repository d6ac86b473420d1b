"""A real JupyterHub (dummy authenticator, local process spawner) running the JWT service as a
hub-managed service, plus a fake OIDC provider in a background thread. Used by the tests in this
directory and by benchmarks/jwt_throughput.py until the full stack runs the service itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fake_provider import FakeProvider

from notebooks_service.config.schema import OidcSection
from notebooks_service.services.jwt import write_settings

REPO = Path(__file__).resolve().parents[2]
CHP_BIN = REPO / ".node" / "node_modules" / ".bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProviderThread:
    """A FakeProvider served from its own event loop thread, usable from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.provider: FakeProvider | None = None

        def run() -> None:
            asyncio.set_event_loop(self.loop)

            async def boot() -> None:
                self.provider = FakeProvider().start()
                ready.set()

            self.loop.run_until_complete(boot())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True, name="fake-idp")
        self.thread.start()
        ready.wait(30)
        assert self.provider is not None

    def stop(self) -> None:
        """Kill the provider like a dead process (listener and connections closed)."""
        assert self.provider is not None
        asyncio.run_coroutine_threadsafe(self.provider.shutdown(), self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


HUB_CONFIG = """
import json
from notebooks_service.services.jwt import hub_service_definition, hub_role_definition
p = json.loads({params!r})
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = p["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = p["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % p["proxy_api_port"]
c.ConfigurableHTTPProxy.auth_token = p["proxy_token"]
c.JupyterHub.db_url = "sqlite:///" + p["base"] + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = p["base"] + "/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = [p["singleuser"]]
c.Spawner.args = ["--allow-root"]
c.SimpleLocalProcessSpawner.home_dir_template = p["base"] + "/homes/{{username}}"
c.JupyterHub.log_level = "WARN"
c.JupyterHub.services = [
    hub_service_definition(p["settings"], p["service_port"]),
    {{"name": "tester", "api_token": p["tester_token"]}},
]
c.JupyterHub.load_groups = {{"admins": {{"users": []}}}}
c.JupyterHub.load_roles = [
    hub_role_definition(),
    {{"name": "user", "scopes": ["self", "list:users!user"]}},
    {{"name": "admin", "groups": ["admins"], "services": ["tester"]}},
]
"""


@dataclass
class MiniHub:
    base: Path
    issuer: str
    client_secret: str
    port: int = field(default_factory=free_port)
    service_port: int = field(default_factory=free_port)
    tester_token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base / "hub.log"

    def start(self, timeout: float = 90, **knobs: Any) -> MiniHub:
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "homes").mkdir(exist_ok=True)
        oidc = OidcSection(issuer=self.issuer, client_secret=self.client_secret,
                           audience="notebooks-hub")
        settings = write_settings(self.base / "jwt-settings.json", oidc, **knobs)
        params = {
            "port": self.port, "hub_port": free_port(), "proxy_api_port": free_port(),
            "proxy_token": secrets.token_hex(16), "base": str(self.base),
            "singleuser": str(Path(sys.executable).with_name("jupyterhub-singleuser")),
            "settings": str(settings), "service_port": self.service_port,
            "tester_token": self.tester_token,
        }
        config = self.base / "jupyterhub_config.py"
        config.write_text(HUB_CONFIG.format(params=json.dumps(params)))
        env = {**os.environ, "PATH": f"{CHP_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.base, env=env,
            stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/services/jwt/", timeout=2).status_code == 401:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"hub not ready in {timeout}s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def admin_api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/hub/api", timeout=60,
                            headers={"Authorization": f"token {self.tester_token}"})

    def direct_token(self, username: str) -> str:
        """A hub token of `username` with the user's own permissions (as they would make)."""
        with self.admin_api() as api:
            r = api.post(f"/users/{username}/tokens", json={"expires_in": 3600, "note": "test"})
            r.raise_for_status()
            return str(r.json()["token"])
