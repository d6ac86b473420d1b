"""Services for the test node: a test-only stand-in for kube-proxy and cluster DNS, not part of the product.

The test machines have no kube-proxy, no cluster DNS and no pod network, so a Service's clusterIP leads
nowhere. Here every Service with a selector gets a loopback address of its own (127.11.0.x), a listener on
each of its TCP ports there, and each connection is forwarded to one of the ready pods the selector
matches (pod IP : targetPort, a named targetPort looked up in the container's ports), round-robin.
Services are polled from the API every `poll` seconds; pods come from the node agent itself, which runs
every pod of the cluster, so a deleted pod stops receiving connections as soon as the agent stops it.

A name that lives outside the cluster (the tests' hub is a process on the host) is mapped with an
*external* route `namespace/name:port=host:port`, given on the command line or in a JSON file re-read on
every poll (its port is known only once the hub runs). Names reach pods through the /etc/hosts file the
agent writes for each of them (see `hosts_file`); `names_file` publishes the same map for host processes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes_asyncio.client import ApiException, CoreV1Api

log = logging.getLogger(__name__)
FIRST_SERVICE_IP = ipaddress.ip_address("127.11.0.1")
CLUSTER_DOMAIN = "cluster.local"
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Endpoint:
    """A ready pod, as far as Services care: where it is, its labels, its named container ports."""

    namespace: str
    ip: str
    labels: dict[str, str]
    ports: dict[str, int]


@dataclass(frozen=True)
class ClusterRoute:
    selector: tuple[tuple[str, str], ...]
    target_port: int | str


@dataclass(frozen=True)
class ExternalRoute:
    host: str
    port: int


Route = ClusterRoute | ExternalRoute
PortKey = tuple[str, str, int]
"""(namespace, service name, service port)"""


def parse_external(key: str, target: str) -> tuple[PortKey, ExternalRoute]:
    """`namespace/name:port` and `host:port`, as `--external-service` and the JSON file give them."""
    service, _, port = key.rpartition(":")
    namespace, slash, name = service.partition("/")
    host, _, target_port = target.rpartition(":")
    if not (slash and namespace and name and port.isdigit() and host and target_port.isdigit()):
        raise ValueError(f"expected NAMESPACE/NAME:PORT=HOST:PORT, got {key}={target}")
    return (namespace, name, int(port)), ExternalRoute(host, int(target_port))


def hosts_file(namespace: str, hostname: str, pod_ip: str, services: dict[tuple[str, str], str],
               aliases: list[tuple[str, list[str]]]) -> str:
    """The /etc/hosts of a pod: what the kubelet writes (localhost, the pod's own name, `hostAliases`)
    plus what cluster DNS would answer for Services (short name in the pod's own namespace only)."""
    lines = ["# Kubernetes-managed hosts file (test node agent: Services stand in for cluster DNS).",
             "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", f"{pod_ip}\t{hostname}"]
    for (service_namespace, name), address in sorted(services.items(), key=lambda item: item[1]):
        fqdn = f"{name}.{service_namespace}.svc"
        names = [name] if service_namespace == namespace else []
        names += [f"{name}.{service_namespace}", fqdn, f"{fqdn}.{CLUSTER_DOMAIN}"]
        lines.append(f"{address}\t{' '.join(names)}")
    if aliases:
        lines.append("# Entries added by HostAliases.")
        lines += [f"{ip}\t{' '.join(names)}" for ip, names in aliases]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of it."""
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding="utf-8")
    staging.chmod(0o644)
    os.replace(staging, path)


class ServiceProxy:
    """Listens on every Service's stand-in address and forwards connections (see the module docstring).

    `endpoints()` gives the ready pods; `on_change()` is called whenever the name → address map
    changed, so the agent rewrites the pods' hosts files.
    """

    def __init__(self, api: CoreV1Api, endpoints: Callable[[], list[Endpoint]],
                 on_change: Callable[[], None], external: dict[PortKey, ExternalRoute],
                 external_file: Path | None, names_file: Path | None, poll: float) -> None:
        self.api = api
        self.endpoints = endpoints
        self.on_change = on_change
        self.external = external
        self.external_file = external_file
        self.names_file = names_file
        self.poll = poll
        self.addresses: dict[tuple[str, str], str] = {}
        self.routes: dict[PortKey, Route] = {}
        self.listeners: dict[PortKey, asyncio.Server] = {}
        self._turn: dict[PortKey, int] = {}
        self._next_ip = FIRST_SERVICE_IP
        self._published: dict[str, str] | None = None

    def names(self) -> dict[tuple[str, str], str]:
        """(namespace, name) → stand-in address of every Service that is listened for now."""
        return {(namespace, name): self.addresses[(namespace, name)] for namespace, name, _ in self.routes}

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.refresh()
                except (ApiException, OSError, TimeoutError) as error:
                    log.warning("services not refreshed: %s", error)
                await asyncio.sleep(self.poll)
        finally:
            for server in self.listeners.values():
                server.close()

    def external_routes(self) -> dict[PortKey, ExternalRoute]:
        routes = dict(self.external)
        if self.external_file is None or not self.external_file.exists():
            return routes
        try:
            mapping = json.loads(self.external_file.read_text(encoding="utf-8"))
            routes.update(parse_external(key, value) for key, value in mapping.items())
        except (ValueError, AttributeError) as error:
            log.warning("ignoring %s: %s", self.external_file, error)
        return routes

    async def wanted_routes(self) -> dict[PortKey, Route]:
        wanted: dict[PortKey, Route] = {}
        services = await self.api.list_service_for_all_namespaces()
        for service in services.items:
            selector = service.spec.selector
            if not selector:
                continue  # endpoints managed by someone else: nothing to forward to here
            for port in service.spec.ports or []:
                if (port.protocol or "TCP") != "TCP":
                    continue
                key = (service.metadata.namespace, service.metadata.name, int(port.port))
                target: Any = port.target_port if port.target_port is not None else port.port
                wanted[key] = ClusterRoute(tuple(sorted(selector.items())),
                                           int(target) if str(target).isdigit() else str(target))
        wanted.update(self.external_routes())  # a host address wins over a Service of the same name
        return wanted

    async def refresh(self) -> None:
        wanted = await self.wanted_routes()
        for key in [key for key in self.listeners if key not in wanted]:
            self.listeners.pop(key).close()
            self.routes.pop(key, None)
            log.info("service %s/%s:%s gone", *key)
        for key, route in wanted.items():
            if key not in self.listeners:
                address = self.address(key[0], key[1])
                try:
                    self.listeners[key] = await asyncio.start_server(
                        lambda reader, writer, key=key: self.forward(key, reader, writer), address, key[2])
                except OSError as error:
                    log.error("service %s/%s:%s cannot listen on %s: %s", *key, address, error)
                    continue
                log.info("service %s/%s:%s at %s:%s → %s", *key, address, key[2], route)
            elif self.routes.get(key) != route:
                log.info("service %s/%s:%s now → %s", *key, route)
            self.routes[key] = route
        self.publish()

    def address(self, namespace: str, name: str) -> str:
        """The Service's stand-in address, kept for as long as the agent runs (never handed to another)."""
        if (namespace, name) not in self.addresses:
            self.addresses[(namespace, name)] = str(self._next_ip)
            self._next_ip += 1
        return self.addresses[(namespace, name)]

    def publish(self) -> None:
        names = {f"{namespace}/{name}": address for (namespace, name), address in self.names().items()}
        if names == self._published:
            return
        self._published = names
        if self.names_file is not None:
            write_atomically(self.names_file, json.dumps(names, indent=1, sort_keys=True))
        self.on_change()

    def target(self, key: PortKey) -> tuple[str, int] | None:
        """Where the next connection to `key` goes: the host address of an external route, or the next
        ready pod in turn; None when no pod is ready."""
        route = self.routes.get(key)
        if isinstance(route, ExternalRoute):
            return route.host, route.port
        if route is None:
            return None
        candidates: list[tuple[str, int]] = []
        for endpoint in self.endpoints():
            if endpoint.namespace != key[0] or any(endpoint.labels.get(k) != v for k, v in route.selector):
                continue
            port = route.target_port if isinstance(route.target_port, int) else endpoint.ports.get(
                route.target_port)
            if port is not None:
                candidates.append((endpoint.ip, port))
        if not candidates:
            return None
        candidates.sort(key=lambda c: ipaddress.ip_address(c[0]))
        turn = self._turn.get(key, 0)
        self._turn[key] = turn + 1
        return candidates[turn % len(candidates)]

    async def forward(self, key: PortKey, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = self.target(key)
        if target is None:
            log.info("service %s/%s:%s: no ready pod, connection closed", *key)
            writer.close()
            return
        client = writer.get_extra_info("peername")[0]
        try:  # from the client's own (loopback) address: the pod sees who called, as behind kube-proxy
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(*target, local_addr=(client, 0)), CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            log.info("service %s/%s:%s: %s:%s refused (%s)", *key, *target, error)
            writer.close()
            return
        try:
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        finally:
            for end in (writer, upstream_writer):
                end.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction of a connection; the end of input is passed on as a half-close (an HTTP client
    may close its sending side and still wait for the answer)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:  # reset by either side: the whole connection ends
        writer.close()
