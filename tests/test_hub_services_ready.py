"""`notebooks up` says it is up only once the services the hub runs are routed and answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from notebooks_service.config.schema import OperatorConfig
from notebooks_service.launcher.hub_services import hub_run_services, wait_for_hub_services
from notebooks_service.launcher.ports import free_port
from notebooks_service.launcher.processes import StartupError
from notebooks_service.launcher.runtime import Runtime


class FakeProxyAndService(BaseHTTPRequestHandler):
    """A loopback stand-in for configurable-http-proxy's API and a hub service, on one port."""

    routes: list[str] = []
    token = ""

    def do_GET(self) -> None:
        if self.path == "/api/routes":
            if self.headers.get("Authorization") != f"token {self.token}":
                self.send_response(403)
                self.end_headers()
                return
            body = json.dumps({route: {"target": "http://127.0.0.1:1"} for route in self.routes}).encode()
        else:
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProxyAndService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def runtime(tmp_path: Path, proxy_port: int, tokens_port: int,
            config: OperatorConfig | None = None) -> Runtime:
    made = Runtime(config=config or OperatorConfig(), data_dir=str(tmp_path), issuer="http://127.0.0.1:1",
                   hub_api_port=free_port(), proxy_api_port=proxy_port,
                   service_ports={"jwt": free_port(), "tokens": tokens_port, "credits": free_port(),
                                  "zones": free_port()})
    made.layout.create()
    FakeProxyAndService.token = made.layout.secret("proxy_auth_token")
    return made


def test_the_services_waited_for_follow_the_config(tmp_path: Path) -> None:
    assert list(hub_run_services(runtime(tmp_path, 1, 2))) == ["tokens"]
    config = OperatorConfig.model_validate({"zone": {"name": "eu-1"}, "credits": {"enabled": True}})
    assert list(hub_run_services(runtime(tmp_path, 1, 2, config))) == ["tokens", "credits", "zones"]


def test_routed_and_answering_services_are_ready(tmp_path: Path, fake: int) -> None:
    FakeProxyAndService.routes = ["/", "/services/tokens"]
    wait_for_hub_services(runtime(tmp_path, fake, fake), timeout=5)


def test_a_service_without_a_proxy_route_is_named(tmp_path: Path, fake: int) -> None:
    FakeProxyAndService.routes = ["/", "/services/jwt"]
    with pytest.raises(StartupError, match=r"service\(s\) tokens did not come up"):
        wait_for_hub_services(runtime(tmp_path, fake, fake), timeout=0.5)


def test_a_routed_service_that_does_not_listen_is_named(tmp_path: Path, fake: int) -> None:
    FakeProxyAndService.routes = ["/", "/services/tokens"]
    with pytest.raises(StartupError, match=r"service\(s\) tokens did not come up"):
        wait_for_hub_services(runtime(tmp_path, fake, free_port()), timeout=0.5)


def test_a_proxy_that_refuses_our_token_leaves_the_services_waiting(tmp_path: Path, fake: int) -> None:
    FakeProxyAndService.routes = ["/", "/services/tokens"]
    made = runtime(tmp_path, fake, fake)
    FakeProxyAndService.token = "another proxy's token"
    with pytest.raises(StartupError, match="tokens"):
        wait_for_hub_services(made, timeout=0.5)
