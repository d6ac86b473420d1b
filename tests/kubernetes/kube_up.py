"""`notebooks up` with the hub's servers on Kubernetes, for the end-to-end tests only.

Everything is the service's own start (identity provider, proxy, hub, services), except the hub's config
file: kube_hub_config.py, which applies the service's settings and then the chart's KubeTokenSpawner
settings. Run as a script: `python tests/kubernetes/kube_up.py up --config FILE`.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from notebooks_service.cli import main  # noqa: E402
from notebooks_service.launcher import up  # noqa: E402
from notebooks_service.launcher.processes import ManagedProcess  # noqa: E402
from notebooks_service.launcher.runtime import Runtime  # noqa: E402

HUB_CONFIG = HERE / "kube_hub_config.py"
_service_processes = up.build_processes


def with_hub_config(processes: list[ManagedProcess], hub_config: Path) -> list[ManagedProcess]:
    """The launcher's processes with the hub started from `hub_config` instead of the service's own."""
    hub = next(process for process in processes if process.name == "JupyterHub")
    assert hub.argv[-2] == "-f", hub.argv
    hub.argv = [*hub.argv[:-1], str(hub_config)]
    return processes


def build_processes(runtime: Runtime) -> list[ManagedProcess]:
    return with_hub_config(_service_processes(runtime), HUB_CONFIG)


if __name__ == "__main__":
    up.build_processes = build_processes
    sys.exit(main())
