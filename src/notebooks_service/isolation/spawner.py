"""The local spawner's isolation: each server as its owner's account, in a sandbox, in a cgroup.

With `isolation` off (the single-person trial) the local spawner behaves as before. With it on, `start`
finds or creates the owner's account, hands the home to it, sets up the cgroup with the profile's
limits, and starts the server through bubblewrap. The hub keeps two process ids: bwrap's (`pid`, alive
exactly as long as the sandbox) and the sandbox's PID 1 (`sandbox_pid`), which receives the signals so
that the server shuts down its kernels itself. Neither is tied to the hub's life: a hub restart finds
its servers running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import time
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
from jupyterhub.utils import random_port
from traitlets import Bool, Float, HasTraits, Integer, List, Unicode

from notebooks_service.config.schema import IsolationSection
from notebooks_service.isolation.accounts import Account, AccountError, AccountManager, account_name
from notebooks_service.isolation.cgroups import (
    DEFAULT_GROUP,
    CgroupUnavailable,
    Limits,
    ServerCgroup,
    join,
)
from notebooks_service.isolation.sandbox import Sandbox, find_tools

_DEFAULTS = IsolationSection()
"""The operator config model holds the defaults; the traits only repeat them for direct use."""
SANDBOX_PID_KEY = "sandbox_pid"
MEMORY_EVENTS_ENV = "NOTEBOOKS_MEMORY_EVENTS"
"""Tells the server which file counts its memory-limit kills (see singleuser.limits)."""
INFO_TIMEOUT = 30.0
READY_PROBE_INTERVAL = 0.1
READY_PROBE_TIMEOUT = 2.0
CGROUP_REMOVAL_TRIES = 30
GIB = 1024**3


class IsolationMixin(HasTraits):
    """Isolation for a local-process spawner; the spawner provides `home_dir` and `token_dir`."""

    isolation = Bool(False, config=True,
                     help="Run every server as its owner's own system account, in a bubblewrap sandbox "
                     "with cgroup limits. Needs the hub to run as root.")
    account_prefix = Unicode(_DEFAULTS.account_prefix, config=True,
                             help="Prefix of the system account names.")
    uid_min = Integer(_DEFAULTS.uid_min, config=True,
                      help="Lowest uid (and gid) of the accounts made for users.")
    uid_max = Integer(_DEFAULTS.uid_max, config=True,
                      help="Highest uid (and gid) of the accounts made for users.")
    default_cpus = Float(_DEFAULTS.default_cpu, config=True,
                         help="CPU limit of a server whose spawn options set none (`CPU_LIMIT`).")
    default_memory_bytes = Integer(int(_DEFAULTS.default_memory_gb * GIB), config=True,
                                   help="Memory limit of a server whose spawn options set none "
                                   "(`MEM_LIMIT`).")
    dumb_init = Unicode(config=True, help="The dumb-init binary, PID 1 of every sandbox.")
    hidden_paths = List(Unicode(), config=True,
                        help="Host paths no sandbox may see (the data dir), besides other homes, "
                        "/root, /tmp.")
    exposed_paths = List(Unicode(), config=True,
                         help="Host paths every sandbox sees read-only even below a hidden one: the "
                         "environments servers run from and their Python installation.")
    cgroup_group = Unicode(DEFAULT_GROUP, config=True,
                           help="The cgroup (below the hub's own) holding this service's servers' cgroups; "
                           "one per service, so that two services on one machine never share one.")
    start_cpu_boost = Bool(_DEFAULTS.start_cpu_boost, config=True,
                           help="Lift the CPU limit to the machine's CPUs while a server starts; its own "
                           "limit applies once it answers.")
    sandbox_pid = Integer(0, help="PID 1 of the running sandbox, as the host sees it.")
    _cpus_after_start: float | None = None
    start_slots = Integer(0, config=True,
                          help="How many servers may be starting at the same time (0: one per CPU). A "
                          "JupyterLab start takes seconds of CPU: a class starting at once would otherwise "
                          "share the CPUs until every start times out; queued, each starts at full speed.")

    _managers: dict[tuple[str, int, int], AccountManager] = {}

    @property
    def account_manager(self) -> AccountManager:
        """One manager (and so one creation lock) per account policy, shared by all spawners."""
        key = (self.account_prefix, self.uid_min, self.uid_max)
        if key not in self._managers:
            self._managers[key] = AccountManager(*key)
        return self._managers[key]

    @property
    def account_name(self) -> str:
        return account_name(self.account_prefix, self.user.name)  # type: ignore[attr-defined]

    @property
    def account(self) -> Account | None:
        """The owner's account, if isolation is on and it exists (it is made by `ensure_account`)."""
        return self.account_manager.existing(self.user.name) if self.isolation else None  # type: ignore[attr-defined]

    async def ensure_account(self) -> Account | None:
        """Find or create the owner's account and hand the home to it (mode 0700)."""
        if not self.isolation:
            return None
        try:
            account = await self.account_manager.ensure(self.user.name)  # type: ignore[attr-defined]
        except AccountError as exc:
            self.log.error("Account for %s: %s", self.user.name, exc)  # type: ignore[attr-defined]
            raise
        home = Path(self.home_dir)  # type: ignore[attr-defined]
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if home.stat().st_uid != account.uid:
            await asyncio.to_thread(_chown_tree, home, account)
        home.chmod(0o700)
        return account

    @property
    def cgroup_unit(self) -> str:
        name = self.account_name
        return f"{name}--{self.name}" if self.name else name  # type: ignore[attr-defined]

    def limits(self, env: dict[str, str]) -> Limits:
        """The profile's limits, as the spawn options put them in the environment, else the defaults."""
        try:
            memory = int(env.get("MEM_LIMIT") or self.default_memory_bytes)
            cpus = float(env.get("CPU_LIMIT") or self.default_cpus)
        except ValueError:
            memory, cpus = self.default_memory_bytes, self.default_cpus
        return Limits(memory_bytes=memory, cpus=cpus)

    def sandbox(self, account: Account) -> Sandbox:
        token_dir = self.token_dir  # type: ignore[attr-defined]
        return Sandbox(
            account=account,
            home=Path(self.home_dir),  # type: ignore[attr-defined]
            tools=find_tools(self.dumb_init),
            token_dir=token_dir if token_dir is not None and token_dir.is_dir() else None,
            hidden=[Path(p) for p in self.hidden_paths],
            exposed=[Path(p) for p in self.exposed_paths],
        )

    async def start(self) -> Any:
        """Start when a start slot is free, and return once the server answers: the hub then finds it
        ready at its first look instead of after its back-off (seconds, measured in benchmarks/)."""
        async with _start_slots(self.start_slots or os.cpu_count() or 1):
            address = await (self._start_sandbox() if self.isolation
                             else super().start())  # type: ignore[misc]
            try:
                await self._wait_until_answering(address)
            finally:
                self._end_start_boost()
        return address

    def _end_start_boost(self) -> None:
        """The server answers (or gave up): from now on it gets its own CPU limit."""
        cpus, self._cpus_after_start = self._cpus_after_start, None
        if cpus is None:
            return
        try:
            self._cgroup().set_cpus(cpus)
        except CgroupUnavailable as exc:
            self.log.warning("%s: %s", self._log_name, exc)  # type: ignore[attr-defined]

    async def _wait_until_answering(self, address: tuple[str, int]) -> None:
        """Until the server's API answers, or its process ended (the hub then reports the failure)."""
        url = f"http://{address[0]}:{address[1]}{self.server.base_url}api"  # type: ignore[attr-defined]
        deadline = time.monotonic() + self.start_timeout  # type: ignore[attr-defined]
        async with httpx.AsyncClient(timeout=READY_PROBE_TIMEOUT) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code < 500:
                        return
                if self.proc is not None and self.proc.poll() is not None:  # type: ignore[has-type]
                    return
                await asyncio.sleep(READY_PROBE_INTERVAL)

    async def _start_sandbox(self) -> tuple[str, int]:
        account = await self.ensure_account()
        assert account is not None
        if self.port == 0:  # type: ignore[has-type]
            self.port = random_port()
        env = self.get_env()  # type: ignore[attr-defined]
        limits = self.limits(env)
        env.setdefault("MEM_LIMIT", str(limits.memory_bytes))
        env.setdefault("CPU_LIMIT", f"{limits.cpus:g}")
        procs_files = self._make_cgroup(limits)
        if procs_files:
            env[MEMORY_EVENTS_ENV] = str(self._cgroup().memory_events_file)
            if self.start_cpu_boost:
                self._cpus_after_start = limits.cpus
        server_argv = [*self.cmd, *self.get_args()]  # type: ignore[attr-defined]
        read_end, write_end = os.pipe()
        try:
            argv = self.sandbox(account).command(server_argv, write_end)
            self.log.info("Spawning %s as %s: %s", self._log_name, account.name,  # type: ignore[attr-defined]
                          shlex.join(argv))
            self.proc = Popen(argv, env=env, start_new_session=True, pass_fds=(write_end,),
                              preexec_fn=lambda: _enter_limits(procs_files))
        finally:
            os.close(write_end)
        self.pid = self.proc.pid
        self.sandbox_pid = await asyncio.wait_for(asyncio.to_thread(_read_child_pid, read_end),
                                                  INFO_TIMEOUT)
        if not self.sandbox_pid:
            raise RuntimeError(f"The sandbox of {self._log_name} did not start "  # type: ignore[attr-defined]
                               f"(bwrap exit status {self.proc.wait()}); the hub's log says why.")
        return (self.ip or "127.0.0.1", self.port)

    def _make_cgroup(self, limits: Limits) -> list[str]:
        """Create the server's cgroup; without one the server runs unlimited, which the log says."""
        while_starting = limits
        if self.start_cpu_boost:
            while_starting = Limits(limits.memory_bytes, max(limits.cpus, float(os.cpu_count() or 1)))
        try:
            cgroup = ServerCgroup.for_unit(self.cgroup_unit, group=self.cgroup_group)
            cgroup.create(while_starting)
        except CgroupUnavailable as exc:
            self.log.warning("Limits are not enforced for %s: %s",  # type: ignore[attr-defined]
                             self._log_name, exc)  # type: ignore[attr-defined]
            return []
        self.log.info("%s limited to %g CPU (%g while starting) and %d MiB",
                      self._log_name, limits.cpus, while_starting.cpus,  # type: ignore[attr-defined]
                      limits.memory_bytes // 2**20)
        return cgroup.procs_files()

    def _inner_pid(self) -> int | None:
        """The sandbox's PID 1: the recorded one if it is still bwrap's child (a reused pid is never
        signalled), else bwrap's child as /proc tells it."""
        outer = self.pid  # type: ignore[has-type]
        if not outer:
            return None
        if self.sandbox_pid and _parent(self.sandbox_pid) == outer:
            return self.sandbox_pid
        try:
            children = Path(f"/proc/{outer}/task/{outer}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    async def _signal(self, sig: int) -> bool:
        """Polite signals go to the sandbox's PID 1, never to bwrap: bwrap would die of them and leave
        the sandbox running without it. SIGKILL goes to both, and to whatever is left in the cgroup."""
        if sig == 0 and _is_zombie(self.pid):  # type: ignore[has-type]
            return False  # ended; its parent (not always the hub, after a restart) has not reaped it
        if not self.isolation or sig == 0:
            return await super()._signal(sig)  # type: ignore[misc]
        inner = self._inner_pid()
        if sig != signal.SIGKILL:
            if inner is not None:
                os.kill(inner, sig)
                return True
            return await super()._signal(0)  # type: ignore[misc]
        if inner is not None:
            os.kill(inner, sig)
        alive = await super()._signal(sig)  # type: ignore[misc]
        self._cgroup().kill_all()
        return alive

    async def poll(self) -> int | None:
        """A server whose bwrap has ended must leave nothing behind in its cgroup."""
        status = await super().poll()  # type: ignore[misc]
        if self.isolation and status is not None:
            cgroup = self._cgroup()
            if cgroup.pids():
                self.log.warning("Killing what %s left running after it ended",  # type: ignore[attr-defined]
                                 self._log_name)  # type: ignore[attr-defined]
                cgroup.kill_all()
        return status

    def _cgroup(self) -> ServerCgroup:
        try:
            return ServerCgroup.for_unit(self.cgroup_unit, group=self.cgroup_group)
        except CgroupUnavailable:
            return ServerCgroup([], version=1)

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)  # type: ignore[misc]
        if self.isolation:
            await self._remove_cgroup()

    async def _remove_cgroup(self) -> None:
        """The last processes may take a moment to leave; a cgroup left behind is reused next start."""
        cgroup = self._cgroup()
        for _ in range(CGROUP_REMOVAL_TRIES):
            if cgroup.remove():
                return
            await asyncio.sleep(0.1)
        self.log.warning("The cgroup of %s still holds processes; kept",  # type: ignore[attr-defined]
                         self._log_name)  # type: ignore[attr-defined]

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()  # type: ignore[misc]
        if self.sandbox_pid:
            state[SANDBOX_PID_KEY] = self.sandbox_pid
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)  # type: ignore[misc]
        self.sandbox_pid = int(state.get(SANDBOX_PID_KEY, 0))

    def clear_state(self) -> None:
        super().clear_state()  # type: ignore[misc]
        self.sandbox_pid = 0


_slots: dict[int, asyncio.Semaphore] = {}


def _start_slots(size: int) -> asyncio.Semaphore:
    """One queue of starts for the whole hub (per size, which is one setting in practice)."""
    if size not in _slots:
        _slots[size] = asyncio.Semaphore(size)
    return _slots[size]


SERVER_OOM_SCORE_ADJ = b"-900"
"""The server is the last to die at its memory limit; it raises its kernels back (singleuser.limits)."""


def _enter_limits(procs_files: list[str]) -> None:
    """Between fork and exec, as root: into the cgroup, and protected from the OOM killer where the
    service may lower scores (CAP_SYS_RESOURCE; some containers withhold it: the kernels' raised score
    then does the job alone)."""
    if procs_files:
        join(procs_files)
        with contextlib.suppress(PermissionError):
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, SERVER_OOM_SCORE_ADJ)
            finally:
                os.close(fd)


def _parent(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), None)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _read_child_pid(fd: int) -> int:
    """bwrap's --info-fd JSON, read to its end; the sandbox's PID 1 as the host sees it, 0 if bwrap
    failed before making it."""
    with os.fdopen(fd, encoding="utf-8") as info:
        text = info.read()
    return int(json.loads(text)["child-pid"]) if text.strip() else 0


def _chown_tree(root: Path, account: Account) -> None:
    """Give a home made before isolation (owned by the service) to its account, symlinks untouched."""
    for directory, dirnames, filenames in os.walk(root):
        os.chown(directory, account.uid, account.gid, follow_symlinks=False)
        for name in dirnames + filenames:
            os.chown(os.path.join(directory, name), account.uid, account.gid, follow_symlinks=False)
