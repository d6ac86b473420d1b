"""One test cluster for the session: the control plane, the hub's namespace and identity, and the node
agent (the kubelet stand-in) running pods from the user environment."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.kubernetes.control_plane import ControlPlane, cluster_binaries
from tests.kubernetes.hub_access import HUB_ACCOUNT, account_kubeconfig, set_up_hub_namespace

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
USER_ENV = REPO / ".venv-user"
SYNC_DELAY = 1.0
"""Seconds between the node agent's re-syncs of Secret volumes (the kubelet's is about a minute)."""
NODE_NAME = "notebooks-test-node"


@dataclass
class KubeCluster:
    root: Path
    plane: ControlPlane = field(init=False)
    agent: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.plane = ControlPlane(self.root / "control-plane", cluster_binaries())
        self.node_root = self.root / "node"

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
             "--sync-delay", str(SYNC_DELAY)],
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

    def pod_volume(self, namespace: str, pod: str, volume: str) -> Path:
        """Where the node agent keeps a volume of the pod `namespace/pod` (the latest pod of that name):
        the directory a process in the pod sees at the volume's mount path."""
        candidates = sorted(self.node_root.glob(f"pods/{namespace}_{pod}_*"), key=lambda p: p.stat().st_mtime)
        assert candidates, f"no pod {namespace}/{pod} ran on the node"
        return candidates[-1] / "volumes" / volume

    def stop(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(30)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        self.plane.stop()
