"""Point the spawner at the user environment.

User servers run `jupyterhub-singleuser` from the user environment (JupyterLab, its add-ons and the
scientific stack, defined in `environment/requirements.in`), so the hub's own environment stays lean and
the two can be upgraded apart. The environment's `bin` goes first on the servers' PATH so that terminals,
`pip` and kernels started by name all use it too.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUTO = "auto"
BUILT_MARKER = ".built"
"""Written by `environment/build.sh` once the environment is complete: `auto` never picks a half-built one."""


def hub_environment() -> Path:
    return Path(sys.prefix)


def resolve_user_environment(setting: str, hub_prefix: Path) -> Path:
    """The environment directory the `service.user_environment` setting designates."""
    if setting == AUTO:
        built = hub_prefix.parent / ".venv-user"
        return built if (built / BUILT_MARKER).exists() else hub_prefix
    if not setting:
        return hub_prefix
    prefix = Path(setting)
    if not (prefix / "bin" / "jupyterhub-singleuser").exists():
        raise ValueError(f"service.user_environment: no bin/jupyterhub-singleuser in {prefix}")
    return prefix


def configure_user_environment(c: Any, setting: str) -> None:
    """Run user servers from the environment `service.user_environment` designates, with its `bin`
    first on their PATH."""
    prefix = resolve_user_environment(setting, hub_environment())
    bin_dir = prefix / "bin"
    log.info("User servers run from %s", prefix)
    c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
    environment = dict(c.Spawner.environment) if "environment" in c.Spawner else {}
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    c.Spawner.environment = {**environment, "VIRTUAL_ENV": str(prefix), "PATH": path}
