"""The real service, started with `notebooks up` on free loopback ports, and helpers to talk to it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import jwt

from notebooks_service.launcher.ports import free_port

REPO = Path(__file__).resolve().parents[1]
READY_LINE = "Notebooks Service is up."
DEMO_PASSWORD = "notebooks"


def toml_value(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_toml(path: Path, sections: dict[str, dict[str, Any]],
               users: list[dict[str, Any]] | None = None) -> Path:
    """A small TOML writer for test configs (tomllib only reads)."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    for user in users or []:
        lines.append("[[dev_idp.users]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in user.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def command_env() -> dict[str, str]:
    """The environment for `notebooks` subprocesses: the repo's configurable-http-proxy on PATH."""
    node_bin = REPO / ".node" / "node_modules" / ".bin"
    return {**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"}


def notebooks_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "notebooks_service", *args]


@dataclass
class Stack:
    """One `notebooks up` process and what it serves."""

    data_dir: Path
    config_path: Path
    port: int
    idp_port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.idp_port}"

    def start(self, timeout: float = 180) -> None:
        already_logged = len(self.log())
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            notebooks_command("up", "--config", str(self.config_path)),
            stdout=log, stderr=subprocess.STDOUT, env=command_env(), cwd=self.data_dir.parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in self.log()[already_logged:]:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"notebooks up exited {self.process.returncode}:\n{self.log()}")
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"notebooks up not ready in {timeout}s:\n{self.log()[-5000:]}")

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pids(self) -> dict[str, int]:
        return json.loads((self.data_dir / "run" / "pids.json").read_text())

    def service_processes(self, module: str) -> list[int]:
        """Live processes running `python -m <module>` that talk to this stack's hub."""
        runtime = json.loads((self.data_dir / "run" / "runtime.json").read_text())
        hub_api = f"JUPYTERHUB_API_URL=http://127.0.0.1:{runtime['hub_api_port']}/".encode()
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if module.encode() in (proc / "cmdline").read_bytes() and \
                        hub_api in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except (OSError, ValueError):
                continue
        return found

    def home(self, username: str) -> Path:
        return self.data_dir / "homes" / username

    def put_in_home(self, username: str, relative: str, write: Any) -> Path:
        """Create a file in a user's home as that user would (owned by the home's owner: their account
        when servers are sandboxed), by calling `write(path)`."""
        home = self.home(username)
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        owner = home.stat()
        os.chown(path, owner.st_uid, owner.st_gid)
        return path


def make_stack(base: Path, name: str, sections: dict[str, dict[str, Any]] | None = None,
               users: list[dict[str, Any]] | None = None) -> Stack:
    """A configured (not yet started) stack under `base/name`, on fresh ports."""
    port, idp_port = free_port(), free_port()
    data_dir = base / name
    data_dir.mkdir(parents=True)
    merged: dict[str, dict[str, Any]] = {
        "service": {"port": port, "data_dir": str(data_dir), "auth_refresh_age": 5},
        "dev_idp": {"port": idp_port},
    }
    for section, values in (sections or {}).items():
        merged.setdefault(section, {}).update(values)
    config_path = write_toml(base / f"{name}.toml", merged, users)
    return Stack(data_dir=data_dir, config_path=config_path, port=port, idp_port=idp_port)


_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S | re.I)
_HIDDEN = re.compile(r"<input[^>]*type=\"hidden\"[^>]*>", re.I)
_ATTR = re.compile(r"(name|value)=\"([^\"]*)\"")


def login_form_fields(html: str) -> tuple[str, dict[str, str]]:
    """The login form's action and hidden fields, read from the IdP's page."""
    match = _FORM.search(html)
    if not match:
        raise AssertionError(f"no login form on the page:\n{html[:2000]}")
    fields: dict[str, str] = {}
    for tag in _HIDDEN.findall(match.group(2)):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return unescape(match.group(1)), fields


def browser_login(stack: Stack, username: str, password: str = DEMO_PASSWORD
                  ) -> tuple[httpx.Client, httpx.Response]:
    """Log in as a browser would: hub -> IdP login form -> hub callback. Returns the cookie jar."""
    client = httpx.Client(follow_redirects=True, timeout=60)
    page = client.get(f"{stack.hub_url}/hub/oauth_login", params={"next": "/hub/home"})
    assert page.status_code == 200, page.text[:500]
    action, fields = login_form_fields(page.text)
    fields.update(username=username, password=password)
    final = client.post(urljoin(str(page.url), action), data=fields)
    return client, final


def hub_token(client: httpx.Client, stack: Stack, username: str) -> str:
    """A hub API token for a logged-in user, created with their browser session."""
    client.get(f"{stack.hub_url}/hub/home")
    xsrf = client.cookies.get("_xsrf", path="/hub/")
    response = client.post(
        f"{stack.hub_url}/hub/api/users/{username}/tokens",
        headers={"X-XSRFToken": xsrf or ""},
        json={"note": "test", "expires_in": 3600},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def verify_with_jwks(stack: Stack, token: str) -> dict[str, Any]:
    """The token's claims, after checking its signature with the issuer's published keys."""
    jwks = httpx.get(f"{stack.issuer}/jwks").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, key=key, algorithms=["RS256"], issuer=stack.issuer,
                      options={"verify_aud": False})


def hub_api(stack: Stack, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{stack.hub_url}/hub/api", timeout=60,
                        headers={"Authorization": f"token {token}"})


def wait_until(predicate: Any, timeout: float, interval: float = 0.5, what: str = "condition"
               ) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_server(api: httpx.Client, username: str, timeout: float = 120) -> dict[str, Any]:
    response = api.post(f"/users/{username}/server")
    assert response.status_code in (201, 202), response.text

    def ready() -> dict[str, Any] | None:
        server = api.get(f"/users/{username}").json()["servers"].get("")
        return server if server and server.get("ready") else None

    return wait_until(ready, timeout, what=f"{username}'s server to be ready")


def stop_server(api: httpx.Client, username: str, timeout: float = 60) -> None:
    response = api.delete(f"/users/{username}/server")
    assert response.status_code in (202, 204), response.text
    wait_until(lambda: "" not in api.get(f"/users/{username}").json()["servers"], timeout,
               what=f"{username}'s server to stop")
