"""A container as a sandboxed local process: bubblewrap gives it private /tmp, PID and IPC namespaces
and the pod's volumes at their container paths; setpriv drops it to the pod's user and groups. All of
it stays in the process group bubblewrap starts in, so the node agent SIGKILLs the group once a stopping
pod's grace period is over; the PID namespace takes down whatever left the group (kernels start sessions
of their own).

The host's filesystem stands in for the image (read-only); the network is the host's, so each pod
listens on its own loopback address (the pod IP). /etc is the host's too, except /etc/hosts: the pod's
own file, which the node agent rewrites as Services come and go (see `etc_binds`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BWRAP = "/usr/bin/bwrap"
POD_ETC = "/etc/.pod"
"""Where the pod's directory of node-managed /etc files appears; /etc/hosts is a symlink into it."""


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


def canonical(target: str) -> str:
    """`target` with the symlinks of its existing part resolved (/var/run is /run on Debian): bubblewrap
    mounts below its new root, where an absolute symlink would point back out of it."""
    path, rest = Path(target), []
    while not path.exists():
        rest.insert(0, path.name)
        path = path.parent
    return str(Path(os.path.realpath(path), *rest))


def etc_binds(pod_etc: Path) -> list[str]:
    """/etc as a tmpfs holding the host's entries (bound read-only) and the pod's own `hosts`.

    A file bound over /etc/hosts would pin the inode it had at start, so an update replacing the file
    atomically would never reach the pod; a symlink into a bound directory follows every rename. Being a
    tmpfs, /etc also takes new mount points (a ConfigMap at /etc/notebooks) without hiding the rest.
    """
    argv = ["--tmpfs", "/etc"]
    with os.scandir("/etc") as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name == "hosts":
                continue
            if entry.is_symlink():
                argv += ["--symlink", os.readlink(entry.path), entry.path]
            elif entry.is_dir() or entry.is_file():
                argv += ["--ro-bind", entry.path, entry.path]
    return [*argv, "--ro-bind", str(pod_etc), POD_ETC,
            "--symlink", f"{Path(POD_ETC).name}/hosts", "/etc/hosts"]


def _missing_parent_roots(targets: list[str]) -> list[str]:
    """The deepest existing host directory above each target that does not exist yet: a tmpfs there lets
    bubblewrap create the mount point on a read-only root, hiding only what the pod cannot see anyway."""
    roots: list[str] = []
    for target in targets:
        path = Path(target)
        if path.exists():
            continue
        while not path.parent.exists():
            path = path.parent
        root = str(path.parent)
        if root == "/etc":
            continue  # a tmpfs already (etc_binds)
        if root == "/":
            raise ValueError(f"cannot mount at {target}: its top directory does not exist on the node")
        if root not in roots:
            roots.append(root)
    return sorted(roots, key=len)


def _hidden_root(path: Path) -> Path | None:
    """The topmost directory above `path` that other users may not enter (e.g. /root), if any."""
    for parent in reversed(path.parents):
        if parent != Path("/") and parent.stat().st_mode & 0o005 != 0o005:
            return parent
    return None


PRIVATE_TMP = Path("/tmp")
"""A tmpfs in every pod: an image under it (a checkout in /tmp) must be bound back in."""


def image_binds(image: list[Path]) -> list[str]:
    """The image's directories readable by the pod's user where the pod would not see them: under a
    directory the host hides from other users (a Python under /root: an empty tmpfs over it, and the
    directory bound back in), or under the pod's private /tmp (bound back in)."""
    hidden: dict[Path, list[Path]] = {}
    for path in image:
        real = Path(os.path.realpath(path))
        root = PRIVATE_TMP if real.is_relative_to(PRIVATE_TMP) else _hidden_root(real)
        if root is not None:
            hidden.setdefault(root, []).append(real)
    argv: list[str] = []
    for root, paths in hidden.items():
        if root != PRIVATE_TMP:  # /tmp is a tmpfs already (container_argv)
            argv += ["--tmpfs", str(root)]
        for path in paths:
            for parent in reversed(path.parents):
                if len(parent.parts) > len(root.parts):
                    argv += ["--perms", "0755", "--dir", str(parent)]
            argv += ["--ro-bind", str(path), str(path)]
    return argv


def container_argv(command: list[str], mounts: list[Mount], uid: int, gid: int, groups: list[int],
                   workdir: str | None, image: list[Path], pod_etc: Path, hostname: str) -> list[str]:
    argv = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", hostname, "--die-with-parent",
            *image_binds(image), *etc_binds(pod_etc)]
    targets = [canonical(m.target) for m in mounts]
    workdir = canonical(workdir) if workdir else None
    for root in _missing_parent_roots(targets + ([workdir] if workdir else [])):
        argv += ["--tmpfs", root]
    made: list[str] = []
    for target in targets:  # bubblewrap would make missing parents 0700, unreadable for the pod's user
        for parent in reversed(Path(target).parents):
            if not parent.exists() and str(parent) not in made:
                made.append(str(parent))
                argv += ["--perms", "0755", "--dir", str(parent)]
    for mount, target in zip(mounts, targets, strict=True):
        argv += ["--ro-bind" if mount.read_only else "--bind", str(mount.source), target]
    if workdir:
        argv += ["--dir", workdir, "--chdir", workdir]
    group_list = ",".join(str(g) for g in groups)
    argv += ["--", "setpriv", f"--reuid={uid}", f"--regid={gid}",
             f"--groups={group_list}" if groups else "--clear-groups", "--inh-caps=-all", "--", *command]
    return argv


def resolve(executable: str, path: str) -> str:
    """The executable as the container's PATH finds it (absolute paths are kept)."""
    if "/" in executable:
        return executable
    for directory in path.split(os.pathsep):
        candidate = Path(directory) / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return executable  # setpriv reports it missing; the container then fails like a bad image command
