"""Readiness probes for the node agent (test-only kubelet stand-in): a container with a readiness probe is
ready once its probe succeeds, so the Service stand-in forwards to a pod only when it really listens.
tcpSocket and httpGet (plain HTTP) probes are implemented; exec and gRPC probes fail the pod. Liveness
and startup probes are not run: the agent restarts nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.kubernetes.node.pod_spec import UnsupportedSpec

PERIOD_CAP = 1.0
"""The test node probes at least every second (periodSeconds defaults to 10), to keep tests fast."""


def check_supported(probe: Any) -> None:
    if probe is None:
        return
    if probe.tcp_socket is None and probe.http_get is None:
        raise UnsupportedSpec("readiness probes other than tcpSocket and httpGet")
    if probe.http_get is not None and (probe.http_get.scheme or "HTTP").upper() != "HTTP":
        raise UnsupportedSpec("httpGet readiness probes over HTTPS")


def _port(value: int | str, ports: dict[str, int]) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    if value not in ports:
        raise UnsupportedSpec(f"probe port {value} is not a named port of the container")
    return ports[value]


async def succeeds(probe: Any, pod_ip: str, ports: dict[str, int]) -> bool:
    """One run of the probe against the pod (timeoutSeconds, default 1 s, as the kubelet)."""
    timeout = float(probe.timeout_seconds or 1)
    if probe.tcp_socket is not None:
        host = probe.tcp_socket.host or pod_ip
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, _port(probe.tcp_socket.port, ports)), timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True
    get = probe.http_get
    url = f"http://{get.host or pod_ip}:{_port(get.port, ports)}{get.path or '/'}"
    headers = {header.name: header.value for header in get.http_headers or []}
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            answer = await client.get(url, headers=headers)
        except httpx.HTTPError:
            return False
    return 200 <= answer.status_code < 400


def period(probe: Any) -> float:
    return min(float(probe.period_seconds or 10), PERIOD_CAP)
