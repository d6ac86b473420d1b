"""Test-only stand-in for a pod's network namespace, loaded by every Python process of a pod the node
agent runs (through PYTHONPATH).

Pods of the test node share the host's network, each on its own loopback address (the pod IP). A server
written for Kubernetes listens on all addresses (`0.0.0.0:8000`, as our hub services do); two replicas
would then fight over the one host port, and every pod would answer on every address. In a pod's own
network namespace "all addresses" means the pod's: so a wildcard bind becomes a bind to the pod IP.
"""

import os
import socket

_POD_IP = os.environ.get("NODE_AGENT_POD_IP", "")

if _POD_IP:
    _bind = socket.socket.bind

    def _bind_in_pod(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address and address[0] in ("", "0.0.0.0", "::"):
            host = _POD_IP if self.family == socket.AF_INET else f"::ffff:{_POD_IP}"
            if self.family == socket.AF_INET6:
                self.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            address = (host, *address[1:])
        _bind(self, address)

    socket.socket.bind = _bind_in_pod  # type: ignore[method-assign]
