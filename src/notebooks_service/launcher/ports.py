"""Port checks done before anything starts, so a busy port fails fast with its name."""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTEN_PORTS_FLOOR = 20000


class PortInUse(Exception):
    pass


def ensure_free(ip: str, port: int, setting: str) -> None:
    """Raise PortInUse naming `setting` when `ip:port` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers that will bind it: a port held only by closing connections is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            raise PortInUse(f"port {port} on {ip} is not available ({setting}): {exc.strerror}"
                            ) from None


def ephemeral_floor() -> int:
    """The lowest port the kernel gives to outgoing connections (32768 on Linux by default)."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(ip: str = "127.0.0.1") -> int:
    """A port that is free now and stays out of the way of outgoing connections.

    A port picked with `bind(0)` comes from the ephemeral range, which the kernel also hands to every
    outgoing connection: between the pick and the moment a service binds it (seconds later, when the hub
    starts its services), any connection may take it and the service fails to listen. Ports below the
    ephemeral range are never used that way, so the pick is drawn from there.
    """
    below_ephemeral = range(LISTEN_PORTS_FLOOR, max(ephemeral_floor(), LISTEN_PORTS_FLOOR))
    candidates = random.sample(below_ephemeral, k=min(64, len(below_ephemeral)))
    for port in candidates:
        try:
            ensure_free(ip, port, "free port")
        except PortInUse:
            continue
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])
