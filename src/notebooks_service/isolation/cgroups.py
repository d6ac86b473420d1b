"""CPU and memory limits of one server, enforced with a cgroup (v1 memory+cpu controllers, or v2).

Each server gets its own cgroup below the one the service runs in (`<own cgroup>/<group>/<unit>`), so
the service's own limits, if any, still cover its users. The group is the service's own (one per data
dir): two services on one machine, each with a server of the same account, never share a cgroup, so one
never kills what the other runs. The cgroup also names the server's processes:
a stop that must use force kills every process in it, wherever they went.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000
DEFAULT_GROUP = "notebooks"


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpus: float


class CgroupUnavailable(RuntimeError):
    """No cgroup can be made here; the message says why (limits are then not enforced)."""


def _own_path(controller: str, proc_cgroup: str) -> str:
    """This process's cgroup path for a v1 `controller` ('' for the v2 unified hierarchy)."""
    for line in proc_cgroup.splitlines():
        _, names, path = line.split(":", 2)
        if (controller and controller in names.split(",")) or (not controller and not names):
            return path
    raise CgroupUnavailable(f"this process is in no {controller or 'unified'} cgroup")


class ServerCgroup:
    """The cgroup directories of one server (one per v1 controller, or one v2 directory)."""

    def __init__(self, directories: list[Path], version: int) -> None:
        self.directories = directories
        self.version = version

    @classmethod
    def for_unit(cls, unit: str, root: Path = CGROUP_ROOT, proc_cgroup: str | None = None,
                 group: str = DEFAULT_GROUP) -> ServerCgroup:
        """Where the cgroup of server `unit` lives on this machine (nothing is created yet)."""
        own = proc_cgroup if proc_cgroup is not None else Path("/proc/self/cgroup").read_text()
        if (root / "cgroup.controllers").exists():
            base = root / _own_path("", own).lstrip("/")
            return cls([base / group / unit], version=2)
        directories = []
        for controller in ("memory", "cpu"):
            if not (root / controller).is_dir():
                raise CgroupUnavailable(f"the cgroup v1 {controller} controller is not mounted")
            base = root / controller / _own_path(controller, own).lstrip("/")
            directories.append(base / group / unit)
        return cls(directories, version=1)

    def create(self, limits: Limits) -> None:
        """Make the cgroup and set its limits; raises CgroupUnavailable when that is not allowed."""
        try:
            if self.version == 2:
                self._create_v2(limits)
            else:
                self._create_v1(limits)
        except OSError as exc:
            raise CgroupUnavailable(f"cannot set up {self.directories[0]}: {exc.strerror}") from None

    def _create_v1(self, limits: Limits) -> None:
        memory, cpu = self.directories
        for directory in self.directories:
            directory.mkdir(parents=True, exist_ok=True)
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        (cpu / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        self._write_cpus(limits.cpus)

    def _create_v2(self, limits: Limits) -> None:
        (directory,) = self.directories
        parent = directory.parent
        parent.mkdir(parents=True, exist_ok=True)
        # Controllers reach a child only when every ancestor hands them down (the service's own
        # cgroup must do so too, which v2 allows only to cgroups without processes of their own).
        (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        directory.mkdir(exist_ok=True)
        (directory / "memory.max").write_text(str(limits.memory_bytes))
        (directory / "memory.swap.max").write_text("0")
        self._write_cpus(limits.cpus)

    def set_cpus(self, cpus: float) -> None:
        """Change the CPU limit of a running server (the start boost ends this way)."""
        try:
            self._write_cpus(cpus)
        except OSError as exc:
            raise CgroupUnavailable(f"cannot set the CPU limit of {self.directories[-1]}: "
                                    f"{exc.strerror}") from None

    def _write_cpus(self, cpus: float) -> None:
        quota = int(cpus * CFS_PERIOD_US)
        if self.version == 2:
            (self.directories[0] / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
        else:
            (self.directories[1] / "cpu.cfs_quota_us").write_text(str(quota))

    def procs_files(self) -> list[str]:
        """The `cgroup.procs` files a new process writes itself into (see `join`)."""
        return [str(directory / "cgroup.procs") for directory in self.directories]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.directories:
            try:
                found |= {int(p) for p in (directory / "cgroup.procs").read_text().split()}
            except OSError:
                continue
        return found

    @property
    def memory_events_file(self) -> Path:
        """The file counting memory-limit kills (`oom_kill`), which the server itself watches."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return self.directories[0] / name

    def kill_all(self) -> None:
        """SIGKILL every process left in the cgroup (a server that would not stop)."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue

    def remove(self) -> bool:
        """Remove the cgroup; False while it still holds processes (exiting ones count too)."""
        removed = True
        for directory in self.directories:
            try:
                directory.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                removed = False
        return removed


def limits_unavailable(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> str | None:
    """Why no server's limits could be enforced here, or None: a probe cgroup is made and removed."""
    try:
        probe = ServerCgroup.for_unit(f"probe-{os.getpid()}", root, proc_cgroup)
    except CgroupUnavailable as exc:
        return str(exc)
    try:
        probe.create(Limits(memory_bytes=2**30, cpus=1.0))
    except CgroupUnavailable as exc:
        return str(exc)
    finally:
        probe.remove()
    return None


def read_oom_kills(events_file: Path) -> int:
    """How many processes the kernel killed in a cgroup for exceeding its memory limit (0 if unknown)."""
    try:
        for line in events_file.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def join(procs_files: list[str]) -> None:
    """Move the calling process into the cgroup. Runs between fork and exec (no allocation-heavy
    work, no logging): every process the server starts later is born inside."""
    pid = str(os.getpid()).encode()
    for path in procs_files:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)
