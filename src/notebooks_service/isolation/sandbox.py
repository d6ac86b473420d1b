"""The bubblewrap command line that puts one user server in its sandbox.

Inside, the server sees the machine's system files read-only, its own home (read-write) at
`/home/<account>`, its own `/tmp`, `/dev` and `/run`, its owner's token directory at the path the seeds
use (`/var/run/secrets/oidc`, also `/var/run/secrets/egi.eu`), and its own PID namespace in which it is
PID 1 (through dumb-init, which forwards signals and reaps orphans). The data dir and every other home
are hidden; mounts are `nosuid` and `no_new_privs` is set, so setuid binaries grant nothing. bwrap runs as
root to build the mounts; `setpriv` then becomes the account, with no capabilities left.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from notebooks_service.isolation.accounts import Account

TOKEN_MOUNTS = ("secrets/oidc", "secrets/egi.eu")
"""Token directory mount points below /var/run, as the seeds' notebooks read them."""
HIDDEN_ROOTS = ("/root", "/home", "/tmp", "/var/tmp", "/run")
"""Shown empty (fresh tmpfs) in every sandbox: other people's files and runtime sockets live there."""
REQUIRED_TOOLS = ("bwrap", "setpriv")


class SandboxToolMissing(RuntimeError):
    """A program the sandbox needs is not installed; the message names the package."""


def find_tools(dumb_init: str) -> dict[str, str]:
    """Absolute paths of bwrap, setpriv and dumb-init, or SandboxToolMissing naming the package."""
    packages = {"bwrap": "bubblewrap", "setpriv": "util-linux"}
    tools = {}
    for name in REQUIRED_TOOLS:
        path = shutil.which(name)
        if path is None:
            raise SandboxToolMissing(f"{name} is not installed (Debian: apt-get install {packages[name]})")
        tools[name] = path
    if not Path(dumb_init).is_file():
        raise SandboxToolMissing(f"dumb-init is not installed at {dumb_init} (pip install dumb-init)")
    tools["dumb-init"] = dumb_init
    return tools


def run_dir() -> Path:
    """Where /var/run points on this machine (/run on Debian), so the mounts land behind the symlink."""
    return Path("/var/run").resolve()


@dataclass(frozen=True)
class Sandbox:
    """What one server's sandbox shows: its account, home, token directory and the system it needs."""

    account: Account
    home: Path
    """The home on the host; appears at `account.sandbox_home`."""
    tools: dict[str, str]
    token_dir: Path | None = None
    hidden: list[Path] = field(default_factory=list)
    """Host paths hidden besides HIDDEN_ROOTS (the data dir)."""
    exposed: list[Path] = field(default_factory=list)
    """Host paths shown read-only although under a hidden root (environments, the Python install)."""

    def command(self, server_argv: list[str], info_fd: int) -> list[str]:
        """The full argv: bwrap, then setpriv, then dumb-init, then the server's own command.
        bwrap writes the sandbox's PID 1 (as the host sees it) as JSON to `info_fd`."""
        argv = [self.tools["bwrap"], "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        argv += self._hide_and_expose()
        argv += ["--bind", str(self.home), self.account.sandbox_home]
        if self.token_dir is not None:
            argv += _traversable_parents(run_dir() / TOKEN_MOUNTS[0], run_dir())  # shared parent
            for mount in TOKEN_MOUNTS:
                argv += ["--bind", str(self.token_dir), str(run_dir() / mount)]
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--hostname", "notebook", "--new-session", "--as-pid-1",
                 "--chdir", self.account.sandbox_home, "--info-fd", str(info_fd), "--",
                 self.tools["setpriv"], f"--reuid={self.account.uid}", f"--regid={self.account.gid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
                 self.tools["dumb-init"], "--"]
        return argv + server_argv


    def _hide_and_expose(self) -> list[str]:
        """Hidden paths become empty tmpfs, exposed ones are bound back read-only; applied from the
        shallowest path to the deepest, so each decides for what lies below it."""
        hidden = {Path(root).resolve() for root in HIDDEN_ROOTS} | {p.resolve() for p in self.hidden}
        exposed = {p.resolve() for p in self.exposed if p.exists()}
        mounts = [(p, ["--tmpfs", str(p)]) for p in hidden]
        for path in exposed - hidden:
            covering = [h for h in hidden if path.is_relative_to(h)]
            if covering:
                parents = _traversable_parents(path, max(covering, key=lambda h: len(h.parts)))
                mounts.append((path, [*parents, "--ro-bind", str(path), str(path)]))
        return [arg for _, args in sorted(mounts, key=lambda m: (len(m[0].parts), str(m[0])))
                for arg in args]


def _traversable_parents(path: Path, root: Path) -> list[str]:
    """bwrap makes missing mount-point parents 0700 root; these make the ones below `root` 0755, so
    the account can walk to the mount."""
    argv: list[str] = []
    for parent in reversed(path.relative_to(root).parents[:-1] if path != root else ()):
        argv += ["--perms", "0755", "--dir", str(root / parent)]
    return argv
