"""Port checks done before anything starts, so a busy port fails fast with its name."""

from __future__ import annotations

import socket


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


def free_port(ip: str = "127.0.0.1") -> int:
    """A port the kernel considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])
