"""The suite's two tiers, decided at collection from what each test uses.

* `fast`: runs inside the pytest process only. In-process fakes on loopback (the fake OIDC provider, the
  fake hub) are fine; a hub, an IdP process, PostgreSQL, a browser, a cluster or any other child process
  is not. `pytest -m fast` runs this tier alone, in seconds, while editing code.
* `real_stack`: everything else: tests that start the service or another program.

A test is `real_stack` when it requests, directly or through other fixtures, one of PROCESS_FIXTURES, or
is marked `@pytest.mark.real_stack` (for tests that start a program themselves: `notebooks up` with a
bad config, the user environment's Python, git). Everything else is `fast`. New tests therefore land in
the right tier by using the usual fixtures, and when a test is misfiled, `no_new_processes` says so: in
a run of the fast tier alone, starting a process fails the test with its name.

This module must not import playwright: tests/conftest.py imports it for every test.
"""

from __future__ import annotations

import _posixsubprocess
import inspect
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
FAST = "fast"
REAL_STACK = "real_stack"
TIERS = pytest.StashKey[dict[str, list[pytest.Item]]]()
"""Every collected test by tier, before `-m` deselects any (set by tests/conftest.py)."""
MARKERS = {
    FAST: "runs in the pytest process alone (no hub, IdP, browser or other program): pytest -m fast",
    REAL_STACK: "starts the service or another program (set automatically, or by hand for a test that "
                "starts one itself)",
}

PROCESS_FIXTURES: Mapping[str, frozenset[object] | None] = {
    # fixture, as "<file under tests/>::<name>" -> the params that start processes (None: all of them)
    "conftest.py::stack": None,                      # notebooks up
    "conftest.py::browser": None,                    # Chromium, through Playwright's driver
    "auth/conftest.py::idp_stack": None,
    "credits/conftest.py::credits_stack": None,
    "conftest.py::postgres": None,
    "credits/conftest.py::ledger_url": frozenset({"postgresql"}),  # asks for `postgres` when run
    "idp/conftest.py::idp": None,                    # the development IdP as its own process
    "idp/conftest.py::start_idp": None,
    "isolation/conftest.py::shared_machine": None,
    "tokens/conftest.py::token_stack": None,
    "kubernetes/conftest.py::cluster": None,         # etcd, the API server, the node agent
    "test_token_refresh.py::short_stack": None,
    "jwt_api/test_jwt_e2e.py::strict": None,
}


def fixture_key(func: Callable[..., Any], name: str) -> str | None:
    """"<file under tests/>::<name>" for a fixture defined in this suite, None for pytest's own."""
    try:
        source = Path(inspect.getsourcefile(inspect.unwrap(func)) or "").resolve()
    except TypeError:
        return None
    if not source.is_relative_to(TESTS):
        return None
    return f"{source.relative_to(TESTS)}::{name}"


def tier(fixtures: Iterable[tuple[str, object]], marked_real_stack: bool) -> str:
    """The tier of a test from the (fixture key, param) pairs it uses; param is None when unparametrized."""
    if marked_real_stack:
        return REAL_STACK
    for key, param in fixtures:
        if key in PROCESS_FIXTURES:
            params = PROCESS_FIXTURES[key]
            if params is None or param in params:
                return REAL_STACK
    return FAST


def used_fixtures(item: pytest.Item) -> list[tuple[str, object]]:
    """The suite's fixtures `item` uses (its whole closure), with the param each runs with. Reads
    pytest's fixture info (`_fixtureinfo`): the public `fixturenames` gives names only, and two
    packages define an `idp` fixture, one in-process and one a process."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    params = getattr(getattr(item, "callspec", None), "params", {})
    found = []
    for name in item.fixturenames:  # type: ignore[attr-defined]
        definitions = info.name2fixturedefs.get(name)
        if not definitions:
            continue
        key = fixture_key(definitions[-1].func, name)
        if key is not None:
            found.append((key, params.get(name)))
    return found


def classify(items: Iterable[pytest.Item]) -> dict[str, list[pytest.Item]]:
    """Mark every item with its tier; the items of each tier."""
    tiers: dict[str, list[pytest.Item]] = {FAST: [], REAL_STACK: []}
    for item in items:
        name = tier(used_fixtures(item), item.get_closest_marker(REAL_STACK) is not None)
        if name == FAST:
            item.add_marker(FAST)
        elif item.get_closest_marker(REAL_STACK) is None:
            item.add_marker(REAL_STACK)
        tiers[name].append(item)
    return tiers


class ProcessInFastTier(RuntimeError):
    """A test of the fast tier tried to start a process."""


_SPAWNERS: tuple[tuple[Any, str], ...] = (
    (subprocess, "_fork_exec"),  # subprocess and asyncio's subprocesses (bound at subprocess's import)
    (_posixsubprocess, "fork_exec"),  # multiprocessing's spawn and forkserver
    (os, "fork"), (os, "forkpty"), (os, "posix_spawn"), (os, "posix_spawnp"), (os, "system"),
)


@contextmanager
def no_new_processes() -> Iterator[None]:
    """Every way CPython starts a process raises ProcessInFastTier inside this block, naming the test
    that pytest is running."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        test = os.environ.get("PYTEST_CURRENT_TEST", "a test").rsplit(" (", 1)[0]
        raise ProcessInFastTier(
            f"{test} is in the fast tier but started a process: use a fixture that starts it (see "
            "tests/tiers.py, PROCESS_FIXTURES) or mark the test @pytest.mark.real_stack")

    saved = [(owner, name, getattr(owner, name)) for owner, name in _SPAWNERS if hasattr(owner, name)]
    for owner, name, _ in saved:
        setattr(owner, name, refuse)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


@contextmanager
def one_default_tls_context() -> Iterator[None]:
    """httpx clients built with default TLS settings share one context inside this block.

    Each new httpx client loads certifi's CA bundle, about 40 ms; the fast tier builds some 340 clients
    (the services under test make one per call) that only ever speak plain HTTP to loopback, so the
    bundle was a third of its time. Clients with other settings (verify=False, a client certificate)
    are built as usual."""
    from httpx._transports import default

    build = default.create_ssl_context
    shared: list[Any] = []

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        if not shared:
            shared.append(build(verify=verify, cert=cert, trust_env=trust_env))
        return shared[0]

    default.create_ssl_context = create_ssl_context  # type: ignore[assignment]
    try:
        yield
    finally:
        default.create_ssl_context = build
