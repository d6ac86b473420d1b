"""A real Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC on) and kube-controller-manager.

The binaries come from `cluster/build.sh` (built once per machine and cached); etcd is Debian's. Every
process listens on 127.0.0.1 only, on free ports, with its data in the session's temporary directory.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tests.kubernetes.pki import CertPair, ClusterPki
from tests.stack import free_port

log = logging.getLogger(__name__)

BUILD_SCRIPT = Path(__file__).parent / "cluster" / "build.sh"
SERVICE_CIDR = "10.96.0.0/24"
"""The range Services' cluster IPs are allocated from: bookkeeping only, nothing ever connects to them."""


def cluster_binaries() -> Path:
    """The directory holding kube-apiserver and kube-controller-manager (built now if not cached)."""
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, stdout=subprocess.PIPE, text=True)
    return Path(done.stdout.strip().splitlines()[-1])


def write_kubeconfig(path: Path, server: str, ca: Path, user: dict[str, str]) -> Path:
    """A kubeconfig with one cluster, one user (`user` as kubeconfig's `user:` fields) and one context."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "user", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "user"}}],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    return path


def cert_user(pair: CertPair) -> dict[str, str]:
    return {"client-certificate": str(pair.cert), "client-key": str(pair.key)}


@dataclass
class ControlPlane:
    """The three processes, their logs under `root`, and the admin's kubeconfig."""

    root: Path
    binaries: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        self.pki = ClusterPki(self.root / "pki")
        self.port = free_port()
        self.admin_kubeconfig = write_kubeconfig(self.root / "admin.kubeconfig", self.url, self.pki.ca,
                                                 cert_user(self.pki.admin))

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str]) -> None:
        log_file = (self.root / f"{name}.log").open("ab")
        log.info("starting %s", name)
        self.processes[name] = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def log_tail(self, name: str, size: int = 4000) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def start(self, timeout: float = 60) -> None:
        started = time.monotonic()
        etcd_port, peer_port = free_port(), free_port()
        etcd = shutil.which("etcd") or "/usr/bin/etcd"
        self._spawn("etcd", [
            etcd, "--name", "test", "--data-dir", str(self.root / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"test=http://127.0.0.1:{peer_port}",
            "--logger", "zap", "--log-level", "warn"])
        pki = self.pki
        self._spawn("kube-apiserver", [
            str(self.binaries / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--tls-cert-file={pki.serving.cert}", f"--tls-private-key-file={pki.serving.key}",
            f"--client-ca-file={pki.ca}", "--authorization-mode=RBAC", "--anonymous-auth=false",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--profiling=false",
            "--endpoint-reconciler-type=none",  # the `kubernetes` Service may not point at loopback
            # Debian's etcd 3.4 sends no watch progress notifications, so the API server's watch cache
            # would fall behind and answer watches with "Too large resource version": serve from etcd
            "--watch-cache=false",
            f"--cert-dir={self.root / 'apiserver-certs'}"])
        self.wait_ready(timeout - (time.monotonic() - started))
        manager_config = write_kubeconfig(self.root / "controller-manager.kubeconfig", self.url, pki.ca,
                                          cert_user(pki.controller_manager))
        self._spawn("kube-controller-manager", [
            str(self.binaries / "kube-controller-manager"),
            f"--kubeconfig={manager_config}", f"--authentication-kubeconfig={manager_config}",
            f"--authorization-kubeconfig={manager_config}",
            "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.service_account_key}", f"--root-ca-file={pki.ca}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--profiling=false"])
        log.info("control plane ready in %.1f s", time.monotonic() - started)

    def admin_client(self) -> httpx.Client:
        """A synchronous HTTP client as the admin, for readiness checks and raw requests."""
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.load_cert_chain(str(self.pki.admin.cert), str(self.pki.admin.key))
        return httpx.Client(base_url=self.url, verify=context, timeout=10)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        with self.admin_client() as client:
            while time.monotonic() < deadline:
                for name, process in self.processes.items():
                    if process.poll() is not None:
                        raise RuntimeError(f"{name} exited {process.returncode}:\n{self.log_tail(name)}")
                try:
                    answer = client.get("/readyz")
                    if answer.status_code == 200:
                        return
                    last = answer.text
                except httpx.HTTPError as error:
                    last = repr(error)
                time.sleep(0.2)
        raise RuntimeError(f"kube-apiserver not ready in {timeout:.0f} s: {last}\n"
                           f"{self.log_tail('kube-apiserver')}")

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop on SIGTERM; killing it", name)
                    process.kill()
                    process.wait()
