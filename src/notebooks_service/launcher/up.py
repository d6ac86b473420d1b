"""`notebooks up`: bring the whole service up on one machine and keep it up until asked to stop.

Order matters: identity provider, then proxy, then hub; the service is up once the services the hub
runs are routed by the proxy and answer. If any part fails to start, the parts already
started are stopped again, so a failed start leaves nothing behind. While running, a part that dies is
restarted; user servers are children of nobody but themselves and survive a hub restart.
"""

from __future__ import annotations

import getpass
import json
import logging
import shutil
import signal
import sys
import threading
import time
from importlib.resources import files
from pathlib import Path

from notebooks_service.config.environment import CONFIG_ENV
from notebooks_service.config.schema import OperatorConfig
from notebooks_service.hub.config import hub_client_secret
from notebooks_service.isolation.cgroups import limits_unavailable
from notebooks_service.isolation.hubconf import IsolationUnavailable, check_isolation, uses_accounts
from notebooks_service.launcher.hub_services import wait_for_hub_services
from notebooks_service.launcher.layout import DataDir, write_private
from notebooks_service.launcher.ports import PortInUse, ensure_free, free_port
from notebooks_service.launcher.processes import ManagedProcess, StartupError
from notebooks_service.launcher.runtime import RUNTIME_ENV, Runtime
from notebooks_service.oidc.discovery import DiscoveryError, discover

log = logging.getLogger("notebooks")

MAX_RESTARTS_PER_MINUTE = 5
SERVICE_NAMES = ("jwt", "tokens", "credits", "zones")


def previous_runtime(layout: DataDir) -> Runtime | None:
    """What the last start of this data dir decided, if it can be read."""
    try:
        return Runtime.load(layout.runtime_file)
    except (OSError, ValueError):
        return None


def reuse_or_pick(port: int) -> int:
    """The internal port of the last start when it is free again, else a new one. Servers kept
    running across a restart (`keep_servers_on_shutdown`) call the hub's API and the token release
    service at the ports they were started with."""
    if port:
        try:
            ensure_free("127.0.0.1", port, "the previous start's port")
            return port
        except PortInUse:
            log.info("port %d of the previous start is taken; picking another", port)
    return free_port()


def resolve_runtime(config: OperatorConfig) -> Runtime:
    """Check the configured ports and pick the internal ones; nothing is started yet."""
    service = config.service
    try:
        check_isolation(config.isolation)
    except IsolationUnavailable as exc:
        raise StartupError(str(exc)) from None
    ensure_free(service.ip, service.port, "service.port")
    if config.dev_idp.enabled:
        ensure_free(service.ip, config.dev_idp.port, "dev_idp.port")
    data_dir = Path(service.data_dir).expanduser().resolve()
    before = previous_runtime(DataDir(data_dir))
    ports = {}
    for setting in ("hub_api_port", "proxy_api_port"):
        port = getattr(service, setting)
        if port:
            ensure_free("127.0.0.1", port, f"service.{setting}")
        ports[setting] = port or reuse_or_pick(getattr(before, setting, 0))
    earlier = before.service_ports if before else {}
    service_ports = {name: reuse_or_pick(earlier.get(name, 0)) for name in SERVICE_NAMES}
    issuer = config.oidc.issuer or f"http://{service.ip}:{config.dev_idp.port}"
    return Runtime(config=config, data_dir=str(data_dir), issuer=issuer, service_ports=service_ports,
                   **ports)


def idp_settings(runtime: Runtime) -> dict[str, object]:
    """The development IdP's settings: its users and the two clients it must know."""
    config = runtime.config
    return {
        "issuer": runtime.issuer,
        "host": config.service.ip,
        "port": config.dev_idp.port,
        "state_dir": str(runtime.layout.idp_state),
        "dev_idp": config.dev_idp.model_dump(mode="json"),
        "groups_claim": config.oidc.groups_claim,
        "clients": [
            {
                "client_id": config.oidc.client_id,
                "client_secret": hub_client_secret(runtime),
                "redirect_uris": [f"{runtime.hub_url}/hub/oauth_callback"],
                "grant_types": ["authorization_code", "refresh_token"],
            },
            {
                "client_id": runtime.cli_client_id,
                "grant_types": ["password", "refresh_token"],
                "access_token_format": config.dev_idp.cli_access_token_format,
            },
            *(client.model_dump() for client in config.dev_idp.clients),
        ],
    }


def build_processes(runtime: Runtime) -> list[ManagedProcess]:
    config, layout = runtime.config, runtime.layout
    service = config.service
    processes = []
    if config.dev_idp.enabled:
        write_private(layout.idp_settings_file, json.dumps(idp_settings(runtime), indent=2))
        processes.append(ManagedProcess(
            name="development identity provider",
            argv=[sys.executable, "-m", "notebooks_service.idp",
                  "--settings", str(layout.idp_settings_file)],
            ready_url=f"{runtime.issuer}/healthz",
        ))
    chp = shutil.which("configurable-http-proxy")
    if chp is None:
        raise StartupError("configurable-http-proxy is not on PATH: install it with "
                           "`npm install -g configurable-http-proxy`")
    hub_target = f"http://127.0.0.1:{runtime.hub_api_port}"
    processes.append(ManagedProcess(
        name="configurable-http-proxy",
        argv=[chp, "--ip", service.ip, "--port", str(service.port),
              "--api-ip", "127.0.0.1", "--api-port", str(runtime.proxy_api_port),
              "--default-target", hub_target, "--error-target", f"{hub_target}/hub/error",
              "--log-level", "warn"],
        env={"CONFIGPROXY_AUTH_TOKEN": layout.secret("proxy_auth_token")},
        ready_url=f"http://127.0.0.1:{runtime.proxy_api_port}/api/routes",
    ))
    hub_config = files("notebooks_service.hub").joinpath("jupyterhub_config.py")
    processes.append(ManagedProcess(
        name="JupyterHub",
        argv=[sys.executable, "-m", "jupyterhub", "-f", str(hub_config)],
        env={RUNTIME_ENV: str(layout.runtime_file)},
        cwd=str(layout.root),
        ready_url=f"{hub_target}/hub/api",
    ))
    processes.append(jwt_service_process(runtime))
    return processes


def jwt_service_process(runtime: Runtime) -> ManagedProcess:
    """The bearer-token API at /services/jwt, an external hub service supervised like the proxy."""
    layout = runtime.layout
    return ManagedProcess(
        name="JWT API service",
        argv=[sys.executable, "-m", "notebooks_service.services.jwt"],
        env={
            CONFIG_ENV: str(layout.operator_file),
            "JUPYTERHUB_API_TOKEN": layout.secret("jwt_service_token"),
            "JUPYTERHUB_API_URL": runtime.hub_api_url,
            "JUPYTERHUB_SERVICE_PREFIX": "/services/jwt/",
            "JUPYTERHUB_SERVICE_URL": runtime.jwt_service_url,
        },
        ready_url=f"{runtime.hub_url}/services/jwt/",
    )


class Service:
    """The running set of processes, with ordered start, restart on crash and ordered stop."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.processes: list[ManagedProcess] = []
        self._restarts: list[float] = []

    def start(self) -> None:
        layout = self.runtime.layout
        layout.create()
        self.runtime.save(hub_client_secret(self.runtime))
        self.processes = build_processes(self.runtime)
        try:
            for process in self.processes:
                if process.name == "configurable-http-proxy":
                    self._check_issuer()
                process.start()
                process.wait_ready(timeout=120)
            wait_for_hub_services(self.runtime, timeout=120)
        except BaseException:
            self.stop()
            raise
        self.record_pids()

    def _check_issuer(self) -> None:
        """Fail early, naming the URL, when the issuer's discovery document cannot be read."""
        try:
            discover(self.runtime.issuer, timeout=10)
        except DiscoveryError as exc:
            raise StartupError(str(exc)) from None

    def restart_dead(self) -> None:
        """Restart any part that died, unless parts keep dying."""
        for process in self.processes:
            if process.running():
                continue
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < 60] + [now]
            if len(self._restarts) > MAX_RESTARTS_PER_MINUTE:
                raise StartupError(f"{process.name} keeps exiting; giving up")
            log.warning("%s exited (status %s); restarting it", process.name,
                        process.process.returncode if process.process else None)
            process.start()
            process.wait_ready(timeout=120)
            self.record_pids()

    def record_pids(self) -> None:
        """Write which process is which to `run/pids.json`, for operators and monitoring."""
        pids = {process.name: process.pid for process in self.processes if process.running()}
        write_private(self.runtime.layout.run / "pids.json", json.dumps(pids, indent=2))

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def ready_banner(runtime: Runtime, limits_problem: str | None = None) -> str:
    """What `notebooks up` prints once everything answers; `limits_problem` says why no cgroup can be
    made here (the servers then run without CPU and memory limits)."""
    config = runtime.config
    lines = [
        "Notebooks Service is up.",
        f"  Hub:    {runtime.hub_url}/",
        f"  Issuer: {runtime.issuer}",
        f"  API:    {runtime.hub_url}/services/jwt",
    ]
    if uses_accounts(config.isolation):
        if limits_problem is None:
            lines.append("  Users:  every user's server runs as that user's own system account, in a "
                         "sandbox with CPU and memory limits.")
        else:
            lines.append("  Users:  every user's server runs as that user's own system account, in a "
                         f"sandbox. CPU AND MEMORY LIMITS ARE NOT ENFORCED: {limits_problem}.")
    else:
        lines.append("  SINGLE-PERSON TRIAL: not started as root, so every server runs as "
                     f"{getpass.getuser()} and users can read each other's files and tokens. Do not "
                     "let others use it; run as root for a multi-user service.")
    if config.dev_idp.enabled:
        lines.append("  Development IdP users (NOT FOR PRODUCTION):")
        for user in config.dev_idp.users:
            lines.append(f"    {user.username:<10} groups: {', '.join(user.groups) or '-'}  "
                         f"password: {config.dev_idp.password_of(user)}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def run(config: OperatorConfig) -> int:
    """Start everything, wait for SIGINT/SIGTERM, stop everything. Returns the exit status."""
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    service = Service(resolve_runtime(config))
    limits_problem = limits_unavailable() if uses_accounts(config.isolation) else None
    if limits_problem is not None:
        log.warning("CPU and memory limits of user servers are not enforced: %s", limits_problem)
    service.start()
    log.info("%s", ready_banner(service.runtime, limits_problem))
    try:
        while not stop_requested.wait(1.0):
            service.restart_dead()
    finally:
        service.stop()
    log.info("stopped")
    return 0

