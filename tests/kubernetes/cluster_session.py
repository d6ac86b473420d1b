"""One test cluster for the session: the control plane, the hub's namespace and identity, and the node
agent (the kubelet, kube-proxy and cluster DNS stand-in) running pods from the user environment, or from
the hub's own environment for the hub image."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tests.kubernetes.control_plane import ControlPlane, cluster_binaries
from tests.kubernetes.hub_access import HUB_ACCOUNT, account_kubeconfig, set_up_hub_namespace
from tests.kubernetes.node.images import image_name

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
USER_ENV = REPO / ".venv-user"
HUB_ENV = REPO / ".venv"
"""What pods of the hub image (our services' Deployments) run from: the hub's own environment."""
HUB_IMAGE = image_name(tomllib.loads((REPO / "deploy" / "examples" / "kubernetes.toml").read_text())
                       ["kubernetes"]["hub_image"])
SYNC_DELAY = 1.0
"""Seconds between the node agent's re-syncs of Secret volumes (the kubelet's is about a minute)."""
NODE_NAME = "notebooks-test-node"
SERVICE_POLL = 0.3
"""Seconds between the node agent's looks at Services and at the external services file."""


@dataclass
class KubeCluster:
    root: Path
    plane: ControlPlane = field(init=False)
    agent: subprocess.Popen[bytes] | None = None
    image_envs: dict[str, Path] = field(default_factory=lambda: {HUB_IMAGE: HUB_ENV})
    """Image name (without tag) → the environment its pods run from; other images run from USER_ENV."""

    def __post_init__(self) -> None:
        self.plane = ControlPlane(self.root / "control-plane", cluster_binaries())
        self.node_root = self.root / "node"
        self.external_services_file = self.root / "external-services.json"
        self.service_names_file = self.root / "service-names.json"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.plane.admin_kubeconfig

    def start(self) -> None:
        assert (USER_ENV / "bin" / "jupyterhub-singleuser").exists(), \
            f"{USER_ENV} is the pods' image: build it with scripts/bootstrap.sh"
        started = time.monotonic()
        self.plane.start()
        set_up_hub_namespace(self.plane)
        self.hub_kubeconfig = account_kubeconfig(self.plane, self.root / "hub.kubeconfig", HUB_ACCOUNT)
        self.node_root.mkdir()
        self.agent = subprocess.Popen(
            [sys.executable, "-m", "tests.kubernetes.node", "--kubeconfig", str(self.admin_kubeconfig),
             "--root", str(self.node_root), "--user-env", str(USER_ENV), "--node-name", NODE_NAME,
             "--sync-delay", str(SYNC_DELAY),
             *[f"--image-env={image}={env}" for image, env in self.image_envs.items()],
             "--external-services-file", str(self.external_services_file),
             "--service-names-file", str(self.service_names_file), "--service-poll", str(SERVICE_POLL)],
            stdout=(self.root / "node-agent.log").open("ab"), stderr=subprocess.STDOUT, cwd=REPO)
        self.wait_for_node()
        log.info("test cluster up in %.1f s", time.monotonic() - started)

    def wait_for_node(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self.plane.admin_client() as client:
            while client.get(f"/api/v1/nodes/{NODE_NAME}").status_code != 200:
                assert self.agent is not None and self.agent.poll() is None, self.agent_log()
                assert time.monotonic() < deadline, f"the node agent did not register:\n{self.agent_log()}"
                time.sleep(0.2)

    def agent_log(self) -> str:
        path = self.root / "node-agent.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def claim_directory(self, namespace: str, claim: str) -> Path:
        """Where the node agent keeps a PersistentVolumeClaim's files."""
        return self.node_root / "claims" / namespace / claim

    def pod_directory(self, namespace: str, pod: str) -> Path:
        """The node agent's directory of the pod now called `namespace/pod` (found by its UID: earlier
        pods of the same name left directories of their own)."""
        with self.plane.admin_client() as client:
            answer = client.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
        assert answer.status_code == 200, f"no pod {namespace}/{pod}: {answer.status_code}"
        return self.node_root / "pods" / f"{namespace}_{pod}_{answer.json()['metadata']['uid']}"

    def pod_volume(self, namespace: str, pod: str, volume: str) -> Path:
        """Where the node agent keeps a volume of the pod `namespace/pod`: the directory a process in the
        pod sees at the volume's mount path."""
        return self.pod_directory(namespace, pod) / "volumes" / volume

    def pod_hosts(self, namespace: str, pod: str) -> Path:
        """The /etc/hosts the node agent keeps for the pod `namespace/pod`."""
        return self.pod_directory(namespace, pod) / "etc" / "hosts"

    def service_names(self) -> dict[str, str]:
        """`namespace/name` → stand-in address of every Service the node agent forwards now."""
        try:
            return json.loads(self.service_names_file.read_text())
        except FileNotFoundError:
            return {}

    def service_address(self, namespace: str, name: str, timeout: float = 10) -> str:
        """The loopback address the Service `namespace/name` answers on (its ports as the Service says),
        for host processes (the tests' hub) to reach what pods reach by name; waits for the agent."""
        deadline = time.monotonic() + timeout
        while (address := self.service_names().get(f"{namespace}/{name}")) is None:
            assert time.monotonic() < deadline, (f"no stand-in address for Service {namespace}/{name}: "
                                                 f"{self.service_names()}\n{self.agent_log()}")
            time.sleep(0.1)
        return address

    def external_services(self) -> dict[str, str]:
        try:
            return json.loads(self.external_services_file.read_text())
        except FileNotFoundError:
            return {}

    def set_external_service(self, namespace: str, name: str, port: int, host: str, host_port: int) -> str:
        """Make `name:port` (and `name.namespace...`) lead from pods to `host:host_port`, a process on the
        host such as the tests' hub (`set_external_service("jhub", "hub", 8081, "127.0.0.1", api_port)`);
        replaces an earlier mapping of the same name and port. Returns the name's stand-in address once
        the agent forwards it."""
        key, target = f"{namespace}/{name}:{port}", f"{host}:{host_port}"
        earlier = self.external_services()
        self._write_external({**earlier, key: target})
        if key in earlier and earlier[key] != target:
            time.sleep(3 * SERVICE_POLL)  # the agent re-reads the file on its next poll; the name stays
        return self.service_address(namespace, name)

    def remove_external_service(self, namespace: str, name: str, port: int) -> None:
        self._write_external({key: value for key, value in self.external_services().items()
                              if key != f"{namespace}/{name}:{port}"})

    def _write_external(self, mapping: dict[str, str]) -> None:
        staging = self.external_services_file.with_suffix(".tmp")
        staging.write_text(json.dumps(mapping, indent=1))
        os.replace(staging, self.external_services_file)  # the agent never reads half a file

    def stop(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(30)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        self.plane.stop()
