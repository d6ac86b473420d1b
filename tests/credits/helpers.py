"""Talking to the credits service of a running stack as a user, and reading its ledger directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from notebooks_service.config.environment import CONFIG_ENV
from notebooks_service.launcher.layout import DataDir
from notebooks_service.services.credits.ledger import Ledger
from tests.stack import Stack, browser_login, hub_api, hub_token, wait_until


class User:
    """A logged-in demo user with a hub token, the hub API and the credits API."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.name = name
        self.browser, _ = browser_login(stack, name)
        self.token = hub_token(self.browser, stack, name)
        self.hub = hub_api(stack, self.token)
        self.credits = httpx.Client(base_url=f"{stack.hub_url}/services/credits/", timeout=60,
                                    headers={"Authorization": f"token {self.token}"})

    def status(self) -> dict[str, Any]:
        response = self.credits.get("api/status")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def balance(self, wallet: str) -> float:
        return next(w["balance"] for w in self.status()["wallets"] if w["wallet"] == wallet)

    def history(self, wallet: str) -> list[dict[str, Any]]:
        response = self.credits.get("api/history", params={"wallet": wallet, "limit": 500})
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])


def ledger_of(stack: Stack) -> Ledger:
    """The stack's ledger, opened the way the service opens it."""
    from notebooks_service.config.load import load_config

    config = load_config(stack.config_path)
    return Ledger.open(config.credits.ledger_url(str(stack.data_dir.resolve())))


def credits_processes(stack: Stack) -> dict[int, int]:
    """Live credits service processes of this stack (their environment names its operator file),
    mapped to their parent pids; other stacks on the machine run the same command line."""
    runtime = f"{CONFIG_ENV}={DataDir(stack.data_dir.resolve()).operator_file}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"notebooks_service.services.credits" in cmdline and runtime in environ and alive(int(proc.name)):
            found[int(proc.name)] = ppid
    return found


def credits_service_pid(stack: Stack) -> int | None:
    """The credits service process the running hub started."""
    hub = stack.pids()["JupyterHub"]
    return next((pid for pid, ppid in credits_processes(stack).items() if ppid == hub), None)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def start_with(user: User, options: dict[str, Any], timeout: float = 120) -> None:
    """Start the user's server with these `user_options` (the hub reuses the last ones otherwise)."""
    response = user.hub.post(f"/users/{user.name}/server", json=options)
    assert response.status_code in (201, 202), response.text
    wait_ready(user, timeout)


def wait_ready(user: User, timeout: float = 120) -> None:
    wait_until(lambda: (user.hub.get(f"/users/{user.name}").json()["servers"].get("") or {}).get("ready"),
               timeout, what=f"{user.name}'s server to be ready")


def scrape(client: httpx.Client) -> dict[str, float]:
    """The credits service's Prometheus samples, keyed as in the text format: `name{label="value"}`."""
    response = client.get("metrics")
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples
