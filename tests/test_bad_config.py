"""`notebooks up` with a bad config: one line naming the problem, exit status 2, nothing started."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.stack import command_env, free_port, notebooks_command, write_toml

pytestmark = pytest.mark.real_stack  # every test runs `notebooks up` itself


def run_up(tmp_path: Path, sections: dict[str, dict[str, Any]] | None, raw: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "notebooks.toml"
    if raw is not None:
        config.write_text(raw)
    else:
        base: dict[str, dict[str, Any]] = {
            "service": {"port": free_port(), "data_dir": str(tmp_path / "data")},
            "dev_idp": {"port": free_port()},
        }
        for section, values in (sections or {}).items():
            base.setdefault(section, {}).update(values)
        write_toml(config, base)
    return subprocess.run(notebooks_command("up", "--config", str(config)), capture_output=True,
                          text=True, timeout=120, env=command_env())


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "ERROR" in line]


@pytest.mark.parametrize(("sections", "raw", "expected"), [
    pytest.param({"service": {"prot": 8000}}, None, "unknown key 'service.prot'", id="unknown-key"),
    pytest.param({"servce": {"port": 8000}}, None, "unknown key 'servce'", id="unknown-section"),
    pytest.param({"service": {"port": "8000"}}, None, "service.port: Input should be a valid integer",
                 id="wrong-type"),
    pytest.param({"service": {"port": 70000}}, None, "service.port", id="port-out-of-range"),
    pytest.param({"oidc": {"signature_algorithms": ["HS256"]}}, None, "HS256", id="symmetric-alg"),
    pytest.param({"oidc": {"allowed_groups": "researchers"}}, None, "oidc.allowed_groups",
                 id="list-expected"),
    pytest.param(None, "[service\nport = 1", "not valid TOML", id="not-toml"),
])
def test_invalid_config_is_one_line_naming_the_key(
        tmp_path: Path, sections: dict[str, dict[str, Any]] | None, raw: str | None,
        expected: str) -> None:
    result = run_up(tmp_path, sections, raw)
    assert result.returncode == 2
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    assert expected in errors[0]
    assert not (tmp_path / "data").exists(), "a bad config must not create state"


def test_unreachable_issuer_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    dead_issuer = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    result = run_up(tmp_path, {"service": {"port": port},
                               "oidc": {"issuer": dead_issuer, "client_secret": "s"},
                               "dev_idp": {"enabled": False}})
    assert result.returncode == 2
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    assert dead_issuer in errors[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the proxy is not left behind on the public port


@pytest.mark.parametrize(("section", "key"), [("service", "port"), ("dev_idp", "port")])
def test_port_in_use_is_named(tmp_path: Path, section: str, key: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_up(tmp_path, {section: {key: port}})
    assert result.returncode == 2
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    assert f"port {port}" in errors[0] and f"{section}.{key}" in errors[0]
