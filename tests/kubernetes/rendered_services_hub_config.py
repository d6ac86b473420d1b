"""The hub's config in test_rendered_services.py: the service's own one-machine hub, except that its
services (JWT API, token release, credits) are the rendered Deployments on the test cluster.

The hub on Kubernetes registers them as the chart does: at their Services' URLs, with the API tokens the
chart keeps in its `hub` Secret, and runs none of them itself (`hubconf.kubernetes_placement`). Here the
hub is a host process, so the URLs are the node agent's stand-in addresses of the Services, and the
tokens are the ones the test put into the Secret; both come from the JSON file named by ENDPOINTS_ENV.
Every applier runs once, through `configure_hub`, with that placement instead of the local one, so
`c.JupyterHub.services` holds exactly one entry per service, none with a command.
"""

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from notebooks_service.hub import config as hub_config
from notebooks_service.hub.placement import Placement, ServiceEndpoint
from notebooks_service.launcher.runtime import Runtime
from tests.kubernetes.rendered_services_up import ENDPOINTS_ENV

c = get_config()  # type: ignore[name-defined]  # noqa: F821
runtime = Runtime.from_environment()
endpoints = json.loads(Path(os.environ[ENDPOINTS_ENV]).read_text())
local_placement = hub_config.local_placement


def deployed_placement(local_runtime: Runtime) -> Placement:
    """The local placement (public URL, issuer, client secret, ledger) with the services on the cluster."""
    deployed = {name: ServiceEndpoint(url=where["url"], api_token=where["api_token"])
                for name, where in endpoints.items()}
    return replace(local_placement(local_runtime), **deployed)


with mock.patch.object(hub_config, "local_placement", deployed_placement):
    hub_config.configure_hub(c, runtime)

names = [service["name"] for service in c.JupyterHub.services]
assert sorted(names) == sorted(set(names)), f"one hub services entry per name: {names}"
assert not [service for service in c.JupyterHub.services if "command" in service], c.JupyterHub.services
