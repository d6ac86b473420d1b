"""The hub's config in the Kubernetes end-to-end tests: the service's own settings, then what the chart
would make of `notebooks kubernetes values` (images, uid, homes, the credits profiles as KubeSpawner's
profile list; `chart_standin.py`) with KubeTokenSpawner, in the test cluster.

The hub's services (JWT API, token release, credits) run beside it as on one machine: the test cluster
has no Services or DNS for Deployments of ours. The pods run on the node agent: the user environment
stands in for the image, and the server listens on the pod's IP, which the pod learns from the Downward
API (`$(POD_IP)`), because all pods share the machine's network and every one of them uses port 8888.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from notebooks_service.hub.config import configure_hub
from notebooks_service.kubernetes.values import chart_values
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.tokens.kubernetes import KubeTokenSpawner
from tests.kubernetes.chart_standin import apply_singleuser
from tests.kubernetes.hub_access import NAMESPACE

c = get_config()  # type: ignore[name-defined]  # noqa: F821
runtime = Runtime.from_environment()
configure_hub(c, runtime)

c.JupyterHub.spawner_class = KubeTokenSpawner
c.KubeSpawner.namespace = NAMESPACE
apply_singleuser(c, chart_values(runtime.config, config_digest="")["singleuser"])
# the node agent's pod network: listen on the pod's own loopback address
c.KubeSpawner.environment = {**c.Spawner.environment,
                             "POD_IP": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}}
c.KubeSpawner.args = [*c.Spawner.args, "--ip=$(POD_IP)"]
