"""The hub's config in the Kubernetes end-to-end tests: the service's own settings, then KubeTokenSpawner
as deploy/kubernetes/values.yaml configures it, with the chart's dynamic storage, in the test cluster.

The pods run on the node agent: the user environment stands in for the image, and the server listens on
the pod's IP, which the pod learns from the Downward API (`$(POD_IP)`), because all pods share the
machine's network and every one of them uses port 8888.
"""

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from notebooks_service.hub.config import configure_hub
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.tokens.kubernetes import KubeTokenSpawner
from notebooks_service.tokens.mount_option import MountAccessTokenOption
from tests.kubernetes.hub_access import NAMESPACE

c = get_config()  # type: ignore[name-defined]  # noqa: F821
configure_hub(c, Runtime.from_environment())

values = yaml.safe_load((Path(__file__).resolve().parents[2] / "deploy/kubernetes/values.yaml").read_text())
singleuser = values["singleuser"]
c.JupyterHub.spawner_class = KubeTokenSpawner
c.SpawnOptionsMixin.option_sections = [MountAccessTokenOption]
c.KubeTokenSpawner.token_mount_paths = ["/var/run/secrets/oidc", "/var/run/secrets/egi.eu"]
c.KubeSpawner.namespace = NAMESPACE
c.KubeSpawner.image = f"{singleuser['image']['name']}:{singleuser['image']['tag']}"
c.KubeSpawner.uid = singleuser["uid"]
c.KubeSpawner.fs_gid = singleuser["fsGid"]
# what the chart sets for singleuser.storage.type: dynamic
storage = singleuser["storage"]
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.pvc_name_template = "claim-{user_server}"
c.KubeSpawner.storage_capacity = storage["capacity"]
c.KubeSpawner.storage_access_modes = ["ReadWriteOnce"]
c.KubeSpawner.volumes = [{"name": "volume-{user_server}",
                          "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
c.KubeSpawner.volume_mounts = [{"name": "volume-{user_server}", "mountPath": storage["homeMountPath"]}]
c.KubeSpawner.working_dir = storage["homeMountPath"]
# the node agent's pod network: listen on the pod's own loopback address
c.KubeSpawner.environment = {**c.Spawner.environment,
                             "POD_IP": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}}
c.KubeSpawner.args = [*c.Spawner.args, "--ip=$(POD_IP)"]
c.KubeSpawner.start_timeout = 120
