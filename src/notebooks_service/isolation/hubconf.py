"""Apply the `[isolation]` section to the hub, and decide at start which mode the service runs in."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import notebooks_service
from notebooks_service.config.schema import IsolationSection
from notebooks_service.environment.spawn import hub_environment, resolve_user_environment
from notebooks_service.isolation.cgroups import DEFAULT_GROUP
from notebooks_service.isolation.sandbox import SandboxToolMissing, find_tools
from notebooks_service.isolation.spawner import GIB


class IsolationUnavailable(RuntimeError):
    """The configured isolation cannot work here; the message names the key or the missing tool."""


def dumb_init_path() -> Path:
    return Path(sys.prefix) / "bin" / "dumb-init"


def uses_accounts(section: IsolationSection, euid: int | None = None) -> bool:
    """Whether servers run as their owners' accounts (else: the single-person trial)."""
    root = (os.geteuid() if euid is None else euid) == 0
    if section.mode == "accounts" and not root:
        raise IsolationUnavailable("isolation.mode = \"accounts\" needs the service to run as root "
                                   "(it creates system accounts); use \"trial\" for one person")
    return section.mode == "accounts" or (section.mode == "auto" and root)


def check_isolation(section: IsolationSection) -> bool:
    """Fail before anything starts if accounts mode lacks a tool; returns whether it is on."""
    enabled = uses_accounts(section)
    if enabled:
        try:
            find_tools(str(dumb_init_path()))
        except SandboxToolMissing as exc:
            raise IsolationUnavailable(f"isolation: {exc}") from None
    return enabled


def cgroup_group(data_dir: str) -> str:
    """The service's own cgroup group, named after its data dir: stable across restarts (a restarted hub
    finds its servers' cgroups), distinct between services on one machine."""
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    return f"{DEFAULT_GROUP}-{digest}"


def python_installation(prefix: Path) -> list[Path]:
    """An environment and the Python installation its interpreter links to (a venv's base)."""
    interpreter = Path(os.path.realpath(prefix / "bin" / "python"))
    return [prefix, interpreter.parents[1]]


def configure_isolation(c: Any, section: IsolationSection, user_environment: str, data_dir: str) -> None:
    """Sandbox local servers in their owners' accounts (when `section` says so), hiding `data_dir` and
    exposing the user environment `user_environment` (the `service.user_environment` setting)."""
    spawner = c.LocalHomeSpawner
    spawner.isolation = uses_accounts(section)
    if not spawner.isolation:
        return
    spawner.account_prefix = section.account_prefix
    spawner.uid_min = section.uid_min
    spawner.uid_max = section.uid_max
    spawner.default_cpus = section.default_cpu
    spawner.default_memory_bytes = int(section.default_memory_gb * GIB)
    spawner.start_cpu_boost = section.start_cpu_boost
    spawner.dumb_init = str(dumb_init_path())
    spawner.hidden_paths = [data_dir]
    spawner.cgroup_group = cgroup_group(data_dir)
    user_env = resolve_user_environment(user_environment, hub_environment())
    package_root = Path(notebooks_service.__file__).resolve().parents[1]
    exposed = {*python_installation(user_env), *python_installation(hub_environment()), package_root}
    spawner.exposed_paths = sorted(str(path) for path in exposed)
