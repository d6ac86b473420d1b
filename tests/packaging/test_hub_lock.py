"""The hub's own environment is locked like the user environment (issue 15, item 7).

`environment/hub-requirements.txt` pins everything the hub's venv holds: the package's dependencies and its
`test` and `kubernetes` extras, resolved by `bash scripts/lock-hub-env.sh` with the user lock as a
constraint, and installed by scripts/bootstrap.sh with the lock as constraints. These checks read files
only (well under a second): they fail when someone changes pyproject.toml's dependencies without
regenerating the locks, when the two locks drift apart, or when the running venv is not the locked one.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
HUB_LOCK = REPO / "environment" / "hub-requirements.txt"
USER_LOCK = REPO / "environment" / "requirements.txt"
HUB_EXTRAS = ("test", "kubernetes")
REGENERATE = "run bash scripts/lock-user-env.sh (it regenerates both locks)"

# the platform both locks are resolved for (scripts/lock-*-env.sh): Python 3.11 on Linux
LOCK_PLATFORM = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.0",
                 "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}

PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def pins(lock: Path) -> dict[str, str]:
    """Normalized name -> version of every requirement line; any line that is not an exact pin fails."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = PIN.fullmatch(line.strip())
        assert match, f"{lock.name}: not an exact pin: {line!r}"
        name = canonicalize_name(match["name"])
        assert name not in found, f"{lock.name}: {name} pinned twice"
        found[name] = match["version"]
    return found


def project_requirements(*extras: str) -> list[Requirement]:
    """pyproject.toml's dependencies plus those of the given extras, that apply on the lock's platform."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    requirements = [Requirement(text) for text in texts]
    return [req for req in requirements if req.marker is None or req.marker.evaluate(LOCK_PLATFORM)]


def unmet(requirements: list[Requirement], pinned: dict[str, str]) -> list[str]:
    """The requirements a lock lacks or pins at a version outside their range."""
    problems = []
    for req in requirements:
        name = canonicalize_name(req.name)
        if name not in pinned:
            problems.append(f"{req} is not pinned")
        elif not req.specifier.contains(pinned[name], prereleases=True):
            problems.append(f"{req} but the lock pins {name}=={pinned[name]}")
    return problems


def test_pins_parse_and_reject_ranges(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("# header\nJupyterHub==6.1.1\n    # via x\npyjwt[crypto]==2.10\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        pins(lock)
    lock.write_text("# header\nJupyterHub==6.1.1\n    # via x\nsome_lib==1.0\n")
    assert pins(lock) == {"jupyterhub": "6.1.1", "some-lib": "1.0"}
    assert unmet([Requirement("jupyterhub>=6.2"), Requirement("Some.Lib>=1"), Requirement("ruff")],
                 pins(lock)) == ["jupyterhub>=6.2 but the lock pins jupyterhub==6.1.1", "ruff is not pinned"]


def test_hub_lock_pins_every_dependency_and_extra() -> None:
    problems = unmet(project_requirements(*HUB_EXTRAS), pins(HUB_LOCK))
    assert not problems, f"{HUB_LOCK.name} disagrees with pyproject.toml ({REGENERATE}): {problems}"


def test_user_lock_pins_every_dependency() -> None:
    """The user servers import the same package, so its dependencies must be in their lock too."""
    problems = unmet(project_requirements(), pins(USER_LOCK))
    assert not problems, f"{USER_LOCK.name} disagrees with pyproject.toml ({REGENERATE}): {problems}"


def test_locks_agree_on_shared_packages() -> None:
    """The hub lock is resolved under the user lock, so the hub and user servers run one JupyterHub."""
    hub, user = pins(HUB_LOCK), pins(USER_LOCK)
    drift = {name: (hub[name], user[name]) for name in hub.keys() & user.keys() if hub[name] != user[name]}
    assert not drift, f"hub lock vs user lock (hub, user): {drift}; run bash scripts/lock-hub-env.sh"
    assert hub["jupyterhub"] == user["jupyterhub"]


def test_running_hub_environment_is_the_locked_one() -> None:
    """The venv running the tests is the hub's; bootstrap installs it with the lock as constraints."""
    wrong = {}
    for name, pinned in pins(HUB_LOCK).items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(pinned):
            wrong[name] = (pinned, installed)
    assert not wrong, f"(locked, installed) differ, run bash scripts/bootstrap.sh test: {wrong}"
