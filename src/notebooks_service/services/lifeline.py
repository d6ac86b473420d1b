"""Tie a service process's life to the process that started it.

The hub and the launcher start their services in sessions of their own, so a crash of the parent
(`kill -9`) would leave the service running with stale settings beside the fresh copy the restarted
parent starts. User servers deliberately do not use this: they must outlive a hub restart.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when our parent exits (Linux; elsewhere a logged no-op)."""
    if not sys.platform.startswith("linux"):
        log.debug("parent-death signal not available on %s", sys.platform)
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("could not ask for a parent-death signal: errno %s", ctypes.get_errno())
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
