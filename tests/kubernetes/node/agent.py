"""The node agent: a test-only stand-in for the kubelet, which cannot run on the test machines.

It is not part of the product. It does for the test cluster what a kubelet (plus a trivial scheduler)
does for the pods the hub creates: registers a Node and keeps its heartbeat, binds pending pods to it,
runs each pod's single container as a sandboxed local process from the environment standing in for its
image (`images.py`) on the pod's own loopback address with its own /etc/hosts, projects Secret and ConfigMap
volumes and re-syncs them every `sync_delay` seconds (the kubelet's sync delay), reports phase, pod IP,
readiness and exit, and on deletion stops the process and removes the pod for good.

With a `ServiceProxy` (`services.py`) it also stands in for kube-proxy and cluster DNS.

A container of a pod with `restartPolicy: Always` (Deployments' pods) that exits is started again in
the same pod after a short back-off, as the kubelet does; other pods end Succeeded or Failed.

Left out on purpose: images, restarts under `OnFailure`, liveness and startup probes (readiness probes
are run, see `probes.py`; without one a started container is ready), resource limits (ignored), and any
volume type other than Secret, ConfigMap, PersistentVolumeClaim and emptyDir (such pods fail saying so).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes_asyncio import watch
from kubernetes_asyncio.client import (
    ApiException,
    CoreV1Api,
    V1Binding,
    V1DeleteOptions,
    V1Node,
    V1ObjectMeta,
    V1ObjectReference,
    V1Pod,
    V1Preconditions,
)

from tests.kubernetes.node import pod_spec, probes, sandbox
from tests.kubernetes.node.images import Images
from tests.kubernetes.node.services import Endpoint, ServiceProxy, hosts_file, write_atomically
from tests.kubernetes.node.volumes import NotReadyYet, PodVolumes, object_data, prepare

log = logging.getLogger(__name__)
HOST_IP = "127.0.0.1"
FIRST_POD_IP = ipaddress.ip_address("127.10.0.1")
HEARTBEAT = 10.0
BACKOFF_CAP = 10.0
"""Longest wait before a restart (the kubelet doubles from 10 s up to 5 minutes; tests cannot wait that)."""
POD_NETWORK = Path(__file__).resolve().parent / "pod_network"
"""On every pod's PYTHONPATH: its sitecustomize turns wildcard binds into binds to the pod IP."""


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunningPod:
    """One pod this node runs: its address, volumes, process and the tasks that watch over them."""

    namespace: str
    name: str
    uid: str
    ip: str
    directory: Path
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    host_aliases: list[tuple[str, list[str]]] = field(default_factory=list)
    ready: bool = False
    volumes: PodVolumes | None = None
    gid: int = 0
    process: asyncio.subprocess.Process | None = None
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    restarts: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def child_pids(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def container_process(bwrap_pid: int) -> int | None:
    """The container command's host pid: bubblewrap's child is the sandbox's init, whose child it is."""
    for init in child_pids(bwrap_pid):
        for command in child_pids(init):
            return command
    return None


class NodeAgent:
    """Runs the pods bound to `node_name` (see the module's docstring)."""

    def __init__(self, api: CoreV1Api, node_name: str, root: Path, images: Images,
                 sync_delay: float) -> None:
        self.api = api
        self.node_name = node_name
        self.root = root
        self.images = images
        self.sync_delay = sync_delay
        self.proxy: ServiceProxy | None = None
        self.pods: dict[str, RunningPod] = {}
        self.finished: set[str] = set()
        self._next_ip = FIRST_POD_IP
        self._background: set[asyncio.Task[None]] = set()

    def endpoints(self) -> list[Endpoint]:
        """The ready pods, for the Service stand-in: every pod of the cluster runs on this node."""
        return [Endpoint(pod.namespace, pod.ip, pod.labels, pod.ports) for pod in self.pods.values()
                if pod.ready]

    def write_hosts(self, running: RunningPod) -> None:
        names = self.proxy.names() if self.proxy is not None else {}
        write_atomically(running.directory / "etc" / "hosts",
                         hosts_file(running.namespace, running.name, running.ip, names, running.host_aliases))

    def services_changed(self) -> None:
        """Cluster DNS would answer differently now: every started pod's /etc/hosts is rewritten."""
        for running in list(self.pods.values()):
            if (running.directory / "etc").is_dir():
                self.write_hosts(running)

    async def run(self) -> None:
        await self.register()
        heartbeat = asyncio.create_task(self.heartbeat())
        if self.proxy is not None:
            proxy = asyncio.create_task(self.proxy.run())
        try:
            while True:
                try:
                    await self.watch_pods()
                except (TimeoutError, ApiException, OSError) as error:
                    log.warning("pod watch ended (%s); watching again", error)
                    await asyncio.sleep(1)
        finally:
            heartbeat.cancel()
            if self.proxy is not None:
                proxy.cancel()
            for pod in list(self.pods.values()):
                await self.stop_process(pod, grace=0)

    def node_status(self) -> dict[str, Any]:
        stamp = now()
        return {"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "NodeAgentReady",
                            "message": "test node agent (kubelet stand-in) is running",
                            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}],
            "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname",
                                                                       "address": self.node_name}],
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "node-agent", "architecture": "amd64", "operatingSystem": "linux",
                         "containerRuntimeVersion": "bwrap://local", "kernelVersion": os.uname().release,
                         "osImage": "test node agent", "kubeProxyVersion": "", "machineID": "",
                         "systemUUID": "", "bootID": ""},
        }}

    async def register(self) -> None:
        node = V1Node(metadata=V1ObjectMeta(name=self.node_name, labels={
            "kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux"}))
        try:
            await self.api.create_node(node)
        except ApiException as error:
            if error.status != 409:
                raise
        await self.api.patch_node_status(self.node_name, self.node_status())
        log.info("registered node %s", self.node_name)

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self.api.patch_node_status(self.node_name, self.node_status())
            except ApiException as error:
                log.warning("node heartbeat failed: %s", error)

    async def watch_pods(self) -> None:
        async with watch.Watch().stream(self.api.list_pod_for_all_namespaces, timeout_seconds=300) as stream:
            async for event in stream:
                await self.handle(event["type"], event["object"])

    async def handle(self, kind: str, pod: V1Pod) -> None:
        uid = pod.metadata.uid
        if kind == "DELETED":
            if uid in self.pods:
                await self.stop_process(self.pods.pop(uid), grace=0)
            self.finished.discard(uid)
            return
        if pod.spec.node_name is None:
            if pod.metadata.deletion_timestamp is None:
                await self.bind(pod)
            return
        if pod.spec.node_name != self.node_name:
            return
        if pod.metadata.deletion_timestamp is not None:
            self._background.add(task := asyncio.create_task(self.terminate(pod)))
            task.add_done_callback(self._background.discard)
            return
        ended = uid in self.finished or pod.status.phase in ("Succeeded", "Failed")
        if uid not in self.pods and not ended:
            running = RunningPod(pod.metadata.namespace, pod.metadata.name, uid, self.allocate_ip(),
                                 self.root / "pods" / f"{pod.metadata.namespace}_{pod.metadata.name}_{uid}")
            self.pods[uid] = running
            running.tasks.append(asyncio.create_task(self.start_or_fail(pod, running)))

    def allocate_ip(self) -> str:
        self._next_ip += 1
        return str(self._next_ip)

    async def bind(self, pod: V1Pod) -> None:
        """The scheduler's one decision here: every pod goes to this node."""
        binding = V1Binding(metadata=V1ObjectMeta(name=pod.metadata.name),
                            target=V1ObjectReference(kind="Node", name=self.node_name))
        try:
            await self.api.create_namespaced_pod_binding(pod.metadata.name, pod.metadata.namespace, binding,
                                                         _preload_content=False)
        except ApiException as error:
            if error.status not in (404, 409):  # gone, or bound meanwhile
                raise

    async def patch_status(self, pod: RunningPod, status: dict[str, Any]) -> None:
        try:
            await self.api.patch_namespaced_pod_status(pod.name, pod.namespace, {"status": status})
        except ApiException as error:
            if error.status != 404:
                raise

    async def start_or_fail(self, pod: V1Pod, running: RunningPod) -> None:
        """Start the pod; an error of the agent itself fails the pod visibly instead of leaving it Pending."""
        try:
            await self.start(pod, running)
        except Exception as error:
            log.exception("pod %s/%s failed to start", running.namespace, running.name)
            await self.patch_status(running, {"phase": "Failed", "reason": "NodeAgentError",
                                              "message": repr(error)})

    async def start(self, pod: V1Pod, running: RunningPod) -> None:
        container = pod.spec.containers[0]
        running.labels = dict(pod.metadata.labels or {})
        running.ports = {port.name: int(port.container_port) for port in container.ports or [] if port.name}
        try:
            if len(pod.spec.containers) != 1 or pod.spec.init_containers:
                raise pod_spec.UnsupportedSpec("pods with more than one container")
            uid, gid, groups = pod_spec.identity(pod, container)
            running.gid = groups[0] if groups else 0
            environment = self.images.environment(container.image)
            running.volumes = await self.wait_for_volumes(pod, running)
            env = await self.wait_for_env(pod, container, running, self.images.variables(environment))
            argv = pod_spec.command(container, env)
            argv[0] = sandbox.resolve(argv[0], env["PATH"])
            probes.check_supported(container.readiness_probe)
        except pod_spec.UnsupportedSpec as error:
            log.error("pod %s/%s cannot run here: %s", running.namespace, running.name, error)
            await self.patch_status(running, {"phase": "Failed", "reason": "UnsupportedByNodeAgent",
                                              "message": str(error)})
            return
        running.host_aliases = [(alias.ip, list(alias.hostnames or []))
                                for alias in pod.spec.host_aliases or []]
        (running.directory / "etc").mkdir(exist_ok=True)
        self.write_hosts(running)
        env["PYTHONPATH"] = ":".join(filter(None, [str(POD_NETWORK), env.get("PYTHONPATH")]))
        env["NODE_AGENT_POD_IP"] = running.ip
        readable = [*Images.filesystem(environment), POD_NETWORK]  # the shim too: a checkout in /tmp
        running.command = sandbox.container_argv(argv, running.volumes.mounts, uid, gid, groups,
                                                 container.working_dir, readable,
                                                 running.directory / "etc", pod.metadata.name)
        running.env = env
        stamp = await self.launch(running, container)
        log.info("started pod %s/%s at %s (pid %s): %s", running.namespace, running.name, running.ip,
                 running.process.pid if running.process else None, " ".join(argv))
        await self.patch_status(running, {
            "phase": "Running", "hostIP": HOST_IP, "podIP": running.ip, "podIPs": [{"ip": running.ip}],
            "startTime": stamp,
            "conditions": self.conditions(running.ready, stamp),
            "containerStatuses": [self.running_status(container, running, running.ready, stamp)]})
        self.watch_readiness(running, container, stamp)
        running.tasks += [asyncio.create_task(self.resync(running)),
                          asyncio.create_task(self.supervise(running, container, pod.spec.restart_policy))]

    async def launch(self, running: RunningPod, container: Any) -> str:
        """Start (or start again) the container's process; the start time."""
        with (running.directory / "container.log").open("ab") as output:
            running.process = await asyncio.create_subprocess_exec(
                *running.command, stdin=asyncio.subprocess.DEVNULL, stdout=output,
                stderr=asyncio.subprocess.STDOUT, env=running.env, start_new_session=True)
        running.ready = container.readiness_probe is None
        return now()

    def watch_readiness(self, running: RunningPod, container: Any, started: str) -> None:
        """Start the readiness probe; called once the start's status (not ready) is in the API, so that
        the probe's "ready", which may come within milliseconds, is never overwritten by it."""
        if container.readiness_probe is not None:
            running.tasks.append(asyncio.create_task(self.probe(running, container, started)))

    @staticmethod
    def conditions(ready: bool, stamp: str) -> list[dict[str, str]]:
        """A running pod's conditions, all of them (a patch replaces the list)."""
        return [{"type": kind, "status": "True", "lastTransitionTime": stamp}
                for kind in ("PodScheduled", "Initialized")] + [
            {"type": kind, "status": str(ready), "lastTransitionTime": stamp}
            for kind in ("ContainersReady", "Ready")]

    @staticmethod
    def container_status(container: Any, running: RunningPod, ready: bool, state: dict[str, Any],
                         last: dict[str, Any] | None = None) -> dict[str, Any]:
        status = {"name": container.name, "image": container.image or "", "imageID": "", "ready": ready,
                  "started": "running" in state, "restartCount": running.restarts, "state": state}
        return status | ({"lastState": last} if last else {})

    def running_status(self, container: Any, running: RunningPod, ready: bool,
                       started: str) -> dict[str, Any]:
        return self.container_status(container, running, ready, {"running": {"startedAt": started}})

    async def probe(self, running: RunningPod, container: Any, started: str) -> None:
        """The readiness probe, run while the container runs: ready after a success, not ready after
        `failureThreshold` failures in a row; each change goes to the pod's status (and so to the
        Service stand-in, which forwards to ready pods only)."""
        probe, process = container.readiness_probe, running.process
        failures = 0
        while process is not None and process.returncode is None:
            if await probes.succeeds(probe, running.ip, running.ports):
                failures, ready = 0, True
            else:
                failures += 1
                ready = running.ready and failures < (probe.failure_threshold or 3)
            if ready != running.ready and process.returncode is None:
                running.ready = ready
                log.info("pod %s/%s %s", running.namespace, running.name, "ready" if ready else "not ready")
                stamp = now()
                await self.patch_status(running, {
                    "conditions": self.conditions(ready, stamp),
                    "containerStatuses": [self.running_status(container, running, ready, started)]})
            await asyncio.sleep(probes.period(probe))

    async def wait_for_env(self, pod: V1Pod, container: Any, running: RunningPod,
                           base: dict[str, str]) -> dict[str, str]:
        """The container's environment, once every key it refers to exists (Pending meanwhile, with the
        kubelet's CreateContainerConfigError, re-tried every `sync_delay` seconds)."""
        said = ""
        while True:
            lookups = {ref: await self.key_data(pod.metadata.namespace, *ref)
                       for ref in pod_spec.env_references(container)}
            try:
                return pod_spec.container_env(pod, container, base, running.ip, HOST_IP, lookups)
            except pod_spec.MissingConfig as missing:
                if str(missing) != said:
                    said = str(missing)
                    log.info("pod %s/%s waits: %s", running.namespace, running.name, missing)
                    waiting = {"waiting": {"reason": "CreateContainerConfigError", "message": said}}
                    await self.patch_status(running, {"phase": "Pending", "containerStatuses": [
                        self.container_status(container, running, False, waiting)]})
            await asyncio.sleep(self.sync_delay)

    async def key_data(self, namespace: str, kind: str, name: str) -> dict[str, str]:
        data = await object_data(self.api, namespace, kind, name) or {}
        return {key: value.decode() for key, value in data.items()}

    async def wait_for_volumes(self, pod: V1Pod, running: RunningPod) -> PodVolumes:
        """The pod's volumes, once all their sources exist (the pod stays Pending meanwhile)."""
        running.directory.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                return await prepare(self.api, pod, running.directory, self.root / "claims", running.gid)
            except NotReadyYet as waiting:
                log.info("pod %s/%s waits: %s", running.namespace, running.name, waiting)
                await asyncio.sleep(self.sync_delay)

    async def resync(self, running: RunningPod) -> None:
        """The kubelet's periodic sync of Secret and ConfigMap volumes, every `sync_delay` seconds."""
        assert running.volumes is not None
        while True:
            await asyncio.sleep(self.sync_delay)
            for source in running.volumes.sources:
                try:
                    if await source.sync(self.api, running.namespace, running.gid):
                        log.info("pod %s/%s: %s %s re-projected", running.namespace, running.name,
                                 source.kind, source.name)
                except (NotReadyYet, ApiException) as error:
                    log.warning("pod %s/%s: %s", running.namespace, running.name, error)

    async def supervise(self, running: RunningPod, container: Any, restart_policy: str | None) -> None:
        """Wait for the container to exit: under `restartPolicy: Always` start it again after a back-off
        (1, 2, 4... seconds, at most BACKOFF_CAP), reporting CrashLoopBackOff meanwhile; otherwise the
        pod ends Succeeded or Failed with the exit code."""
        while True:
            assert running.process is not None
            code = await running.process.wait()
            running.ready = False
            if running.uid not in self.pods:
                return  # stopped because the pod is being deleted
            log.info("pod %s/%s exited with %s", running.namespace, running.name, code)
            stamp = now()
            terminated = {"terminated": {"exitCode": code, "finishedAt": stamp,
                                         "reason": "Completed" if code == 0 else "Error"}}
            if restart_policy != "Always":
                self.finished.add(running.uid)
                await self.patch_status(running, {
                    "phase": "Succeeded" if code == 0 else "Failed",
                    "conditions": [{"type": kind, "status": "False", "lastTransitionTime": stamp}
                                   for kind in ("ContainersReady", "Ready")],
                    "containerStatuses": [self.container_status(container, running, False, terminated)]})
                return
            delay = min(2.0 ** running.restarts, BACKOFF_CAP)
            waiting = {"waiting": {"reason": "CrashLoopBackOff",
                                   "message": f"back-off {delay:.0f}s restarting failed container"}}
            await self.patch_status(running, {
                "conditions": self.conditions(False, stamp),
                "containerStatuses": [self.container_status(container, running, False, waiting, terminated)]})
            await asyncio.sleep(delay)
            if running.uid not in self.pods:
                return
            running.restarts += 1
            started = await self.launch(running, container)
            log.info("restarted pod %s/%s (restart %s)", running.namespace, running.name, running.restarts)
            await self.patch_status(running, {
                "conditions": self.conditions(running.ready, started),
                "containerStatuses": [self.container_status(container, running, running.ready,
                                                            {"running": {"startedAt": started}},
                                                            terminated)]})
            self.watch_readiness(running, container, started)

    async def stop_process(self, running: RunningPod, grace: float) -> None:
        for task in running.tasks:
            task.cancel()
        process = running.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            # as the kubelet does, SIGTERM goes to the container's own process only: bubblewrap would die
            # of it, and its sandbox's init with it (--die-with-parent), killing the container at once
            command = container_process(process.pid)
            if command is None:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                os.kill(command, signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), grace or 0.1)
        with contextlib.suppress(ProcessLookupError):  # what is left of the group, bubblewrap's init too
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        log.info("stopped pod %s/%s", running.namespace, running.name)

    async def terminate(self, pod: V1Pod) -> None:
        """A deleted pod: stop its container within the grace period, then remove the pod object."""
        uid = pod.metadata.uid
        running = self.pods.pop(uid, None)
        self.finished.discard(uid)
        if running is not None:
            await self.stop_process(running, grace=float(pod.metadata.deletion_grace_period_seconds or 0))
            shutil.rmtree(running.directory / "volumes", ignore_errors=True)  # the container log stays
        try:
            await self.api.delete_namespaced_pod(
                pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0,
                body=V1DeleteOptions(grace_period_seconds=0, preconditions=V1Preconditions(uid=uid)))
        except ApiException as error:
            if error.status not in (404, 409):
                raise
