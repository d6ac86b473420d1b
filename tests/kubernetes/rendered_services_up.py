"""`notebooks up` whose hub uses the rendered services' Deployments, for test_rendered_services.py only.

Everything is the service's own start (identity provider, proxy, hub), except three things: the hub's
config file is rendered_services_hub_config.py (the services at the cluster's stand-in addresses), the
launcher's own JWT API process is left out, since `/services/jwt` is the `notebooks-jwt` Deployment's,
and the start does not wait for the hub's services, which are Deployments applied after it.
Run as a script: `python tests/kubernetes/rendered_services_up.py up --config FILE`.
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
from tests.kubernetes.kube_up import with_hub_config  # noqa: E402

HUB_CONFIG = HERE / "rendered_services_hub_config.py"
LOCAL_JWT = "JWT API service"
ENDPOINTS_ENV = "NOTEBOOKS_TEST_SERVICE_ENDPOINTS"
"""Names the JSON file of the hub's services: name → {"url": ..., "api_token": ...} (the Deployments'
Services at their stand-in addresses, with the tokens of the chart's `hub` Secret)."""
_service_processes = up.build_processes


def build_processes(runtime: Runtime) -> list[ManagedProcess]:
    everything = _service_processes(runtime)
    processes = [process for process in everything if process.name != LOCAL_JWT]
    assert len(processes) == len(everything) - 1, [process.name for process in everything]
    return with_hub_config(processes, HUB_CONFIG)


def no_wait_for_hub_services(_runtime: Runtime, timeout: float) -> None:
    """The hub's services here are the rendered Deployments, which the test applies once the hub is up
    (as on Kubernetes, where the hub does not wait for them either)."""


if __name__ == "__main__":
    up.build_processes = build_processes
    up.wait_for_hub_services = no_wait_for_hub_services
    sys.exit(main())
