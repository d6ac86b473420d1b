"""Talking to the credits service of a running stack as a user, and reading its ledger directly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from notebooks_service.services.credits.ledger import Ledger
from tests.stack import Stack, browser_login, hub_api, hub_token


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


def credits_service_pid(stack: Stack) -> int | None:
    """The credits service process: the hub's child running `notebooks_service.services.credits`."""
    hub = stack.pids()["JupyterHub"]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == hub and b"notebooks_service.services.credits" in cmdline:
            return int(proc.name)
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
