"""The isolation pieces on their own: account names, the sandbox's mounts, cgroup files, the mode."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from notebooks_service.config.schema import IsolationSection, OperatorConfig
from notebooks_service.isolation.accounts import MAX_NAME_LENGTH, Account, account_name
from notebooks_service.isolation.cgroups import (
    CgroupUnavailable,
    Limits,
    ServerCgroup,
    limits_unavailable,
    read_oom_kills,
)
from notebooks_service.isolation.hubconf import IsolationUnavailable, cgroup_group, uses_accounts
from notebooks_service.isolation.sandbox import Sandbox
from notebooks_service.launcher.runtime import Runtime
from notebooks_service.launcher.up import ready_banner

HUB_NAMES = ["alice", "Alice", "alice@example.org", "al ice", "a" * 60, "a" * 60 + "b", "élodie", "-x",
             "alice-1234abcd", "ALICE", "bob.smith", "bob-smith"]


def test_account_names_are_valid_and_distinct() -> None:
    names = [account_name("nb-", hub) for hub in HUB_NAMES]
    assert len(set(names)) == len(names)
    for name in names:
        assert len(name) <= MAX_NAME_LENGTH
        assert name.startswith("nb-")
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name), name
    assert account_name("nb-", "alice") == "nb-alice"


def _sandbox(tmp_path: Path, **kwargs: object) -> list[str]:
    account = Account("nb-alice", 70001, 70001)
    tools = {"bwrap": "/usr/bin/bwrap", "setpriv": "/usr/bin/setpriv", "dumb-init": "/x/dumb-init"}
    sandbox = Sandbox(account, tmp_path / "homes" / "alice", tools, **kwargs)  # type: ignore[arg-type]
    return sandbox.command(["jupyterhub-singleuser"], 7)


def test_the_sandbox_hides_the_data_dir_and_drops_to_the_account(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tokens = data / "secrets-run" / "alice"
    tokens.mkdir(parents=True)
    argv = _sandbox(tmp_path, token_dir=tokens, hidden=[data])
    joined = " ".join(argv)
    assert joined.index("--tmpfs /tmp ") < joined.index(f"--tmpfs {data}") < joined.index("/home/nb-alice")
    for root in ("/home", "/root", "/tmp", "/run"):
        assert f"--tmpfs {root}" in joined
    assert f"--bind {tmp_path}/homes/alice /home/nb-alice" in joined
    assert f"--bind {tokens} /run/secrets/oidc" in joined and f"--bind {tokens} /run/secrets/egi.eu" in joined
    assert "--perms 0755 --dir /run/secrets" in joined
    assert joined.index("--unshare-pid") < joined.index("setpriv")
    tail = argv[argv.index("/usr/bin/setpriv"):]
    assert tail[:3] == ["/usr/bin/setpriv", "--reuid=70001", "--regid=70001"]
    assert "--no-new-privs" in tail and "--bounding-set=-all" in tail
    assert tail[-3:] == ["/x/dumb-init", "--", "jupyterhub-singleuser"]
    assert "--die-with-parent" not in argv, "a hub restart must not end the servers"


def test_hidden_and_exposed_paths_apply_from_shallow_to_deep(tmp_path: Path) -> None:
    """An environment under a hidden directory is shown again; a hidden one under it stays hidden."""
    project = Path("/srv/project")
    argv = _sandbox(tmp_path, hidden=[project, project / ".venv-user" / "secret"],
                    exposed=[Path("/root")])
    joined = " ".join(argv)
    assert joined.index("--tmpfs /srv/project") < joined.index("--tmpfs /srv/project/.venv-user/secret")
    assert "--ro-bind /root /root" not in joined, "a path that is itself hidden is not shown again"


def test_cgroup_v1_files(tmp_path: Path) -> None:
    """A stand-in cgroup tree (plain directories) shows which files the limits go to."""
    for controller in ("memory", "cpu"):
        (tmp_path / controller / "svc").mkdir(parents=True)
    own = "4:memory:/svc\n1:cpu:/svc\n0::/\n"
    cgroup = ServerCgroup.for_unit("nb-alice", root=tmp_path, proc_cgroup=own)
    cgroup.create(Limits(memory_bytes=1 << 30, cpus=1.5))
    memory = tmp_path / "memory" / "svc" / "notebooks" / "nb-alice"
    assert (memory / "memory.limit_in_bytes").read_text() == str(1 << 30)
    assert (tmp_path / "cpu" / "svc" / "notebooks" / "nb-alice" / "cpu.cfs_quota_us").read_text() == "150000"
    cgroup.set_cpus(0.5)
    assert (tmp_path / "cpu" / "svc" / "notebooks" / "nb-alice" / "cpu.cfs_quota_us").read_text() == "50000"
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert read_oom_kills(cgroup.memory_events_file) == 3


def test_cgroup_v2_files(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory")
    (tmp_path / "svc").mkdir()
    cgroup = ServerCgroup.for_unit("nb-alice", root=tmp_path, proc_cgroup="0::/svc\n")
    cgroup.create(Limits(memory_bytes=2 << 30, cpus=0.5))
    unit = tmp_path / "svc" / "notebooks" / "nb-alice"
    assert (tmp_path / "svc" / "notebooks" / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (unit / "memory.max").read_text() == str(2 << 30)
    assert (unit / "cpu.max").read_text() == "50000 100000"
    cgroup.set_cpus(2)
    assert (unit / "cpu.max").read_text() == "200000 100000"
    shutil.rmtree(unit)  # the server ended and its cgroup is gone
    with pytest.raises(CgroupUnavailable, match="cannot set the CPU limit"):
        cgroup.set_cpus(1)
    assert cgroup.memory_events_file == unit / "memory.events"


def test_mode_follows_root_and_accounts_mode_needs_root() -> None:
    assert uses_accounts(IsolationSection(), euid=0)
    assert not uses_accounts(IsolationSection(), euid=1000)
    assert not uses_accounts(IsolationSection(mode="trial"), euid=0)
    with pytest.raises(IsolationUnavailable, match=r'isolation\.mode = "accounts" needs'):
        uses_accounts(IsolationSection(mode="accounts"), euid=1000)


def test_the_banner_says_plainly_when_the_service_is_a_single_person_trial() -> None:
    runtime = Runtime(config=OperatorConfig(isolation=IsolationSection(mode="trial")), data_dir="/d",
                      issuer="http://127.0.0.1:8010", hub_api_port=1, proxy_api_port=2,
                      service_ports={"jwt": 3})
    assert "SINGLE-PERSON TRIAL" in ready_banner(runtime)
    accounts = runtime.model_copy(update={"config": OperatorConfig()})
    assert ("own system account" in ready_banner(accounts)) == uses_accounts(IsolationSection())


def test_the_banner_says_when_limits_cannot_be_enforced(tmp_path: Path) -> None:
    """No cgroup controller here (a stand-in tree without them): the banner says limits are off, and why."""
    problem = limits_unavailable(root=tmp_path, proc_cgroup="4:memory:/svc\n1:cpu:/svc\n")
    assert problem == "the cgroup v1 memory controller is not mounted"
    runtime = Runtime(config=OperatorConfig(isolation=IsolationSection(mode="accounts")), data_dir="/d",
                      issuer="http://127.0.0.1:8010", hub_api_port=1, proxy_api_port=2, service_ports={})
    banner = ready_banner(runtime, problem)
    assert "own system account" in banner
    assert f"CPU AND MEMORY LIMITS ARE NOT ENFORCED: {problem}." in banner
    assert "with CPU and memory limits" in ready_banner(runtime)


def test_each_service_has_its_own_cgroup_group_kept_across_restarts(tmp_path: Path) -> None:
    first, second = tmp_path / "zone-1", tmp_path / "zone-2"
    same = cgroup_group(f"{tmp_path}/other/../zone-1")
    assert cgroup_group(str(first)) == same != cgroup_group(str(second))
    assert re.fullmatch(r"notebooks-[0-9a-f]{12}", cgroup_group(str(first)))
    own = "4:memory:/svc\n1:cpu:/svc\n"
    for controller in ("memory", "cpu"):
        (tmp_path / controller / "svc").mkdir(parents=True)
    cgroup = ServerCgroup.for_unit("nb-alice", root=tmp_path, proc_cgroup=own, group=cgroup_group(str(first)))
    assert cgroup.directories[0] == tmp_path / "memory" / "svc" / cgroup_group(str(first)) / "nb-alice"


def test_on_this_machine_a_probe_cgroup_is_made_and_removed() -> None:
    """As root on the test machines (cgroup v1 or v2), limits can be enforced; the probe leaves nothing."""
    assert os.geteuid() == 0, "the isolation tests run as root, as the service does on a shared machine"
    assert limits_unavailable() is None
    probe = ServerCgroup.for_unit(f"probe-{os.getpid()}")
    assert probe.directories and not [d for d in probe.directories if d.exists()], "the probe is gone"


@pytest.mark.parametrize(("values", "key"), [
    ({"uid_min": 80000, "uid_max": 70000}, "uid_min is above"),
    ({"account_prefix": "Root!"}, "account_prefix"),
    ({"uid_min": 0}, "uid_min"),
    ({"mode": "sometimes"}, "mode"),
])
def test_bad_isolation_settings_name_the_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        IsolationSection(**values)  # type: ignore[arg-type]
