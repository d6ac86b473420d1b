"""The `notebooks` command: `notebooks up` runs the service, `notebooks kubernetes` renders it for
Kubernetes, `notebooks token` prints an access token, `notebooks servers` lists, starts and stops your
servers in every zone and shows your credits."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path
from typing import Any

from notebooks_service.client.args import add_servers_parser
from notebooks_service.config.load import ConfigError, load_config
from notebooks_service.launcher.ports import PortInUse
from notebooks_service.launcher.processes import StartupError
from notebooks_service.oidc.discovery import DiscoveryError

log = logging.getLogger("notebooks")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notebooks", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole service on this machine, in the foreground")
    up.add_argument("--config", type=Path, help="operator config file (TOML)")
    up.add_argument("--port", type=int, help="public port of the hub (service.port, default 8000)")
    up.add_argument("--idp-port", type=int, help="port of the development IdP (default 8010)")
    up.add_argument("--data-dir", help="where state, homes and secrets live (service.data_dir)")
    up.add_argument("--demo-password", help="password of the demo users (default: notebooks)")
    up.add_argument("--keep-servers", action="store_true", default=None,
                    help="leave user servers running when the service stops")

    kube = commands.add_parser("kubernetes", help="render the Kubernetes deployment from the operator file")
    kube.add_argument("what", choices=("values", "objects"),
                      help="values: the Zero to JupyterHub chart's values; objects: our services, the "
                           "operator file's ConfigMap and the token Role, for kubectl apply")
    kube.add_argument("--config", type=Path, required=True, help="operator config file (TOML)")
    kube.add_argument("--output", "-o", type=Path, help="write here instead of standard output")

    token = commands.add_parser("token", help="print a fresh access token from the development IdP")
    token.add_argument("--user", required=True, help="demo user name")
    token.add_argument("--password", help="the user's password (prompted for when omitted)")
    token.add_argument("--data-dir", default="notebooks-data",
                       help="data dir of the running service (default: notebooks-data)")

    add_servers_parser(commands)
    return parser


def _up_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    chosen = {
        ("service", "port"): args.port,
        ("service", "data_dir"): args.data_dir,
        ("service", "keep_servers_on_shutdown"): args.keep_servers,
        ("dev_idp", "port"): args.idp_port,
        ("dev_idp", "demo_password"): args.demo_password,
    }
    overrides: dict[str, dict[str, Any]] = {}
    for (section, key), value in chosen.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def _render_kubernetes(args: argparse.Namespace) -> int:
    from notebooks_service.kubernetes.render import objects_yaml, render, values_yaml

    rendered = render(args.config)
    text = values_yaml(rendered) if args.what == "values" else objects_yaml(rendered)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        log.info("wrote %s", args.output)
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "up":
        from notebooks_service.launcher.up import run

        return run(load_config(args.config, _up_overrides(args)))
    if args.command == "kubernetes":
        return _render_kubernetes(args)
    if args.command == "servers":
        from notebooks_service.client.commands import run

        return run(args)
    from notebooks_service.launcher.token import TokenError, fetch_token

    password = args.password if args.password is not None else getpass.getpass(
        f"Password for {args.user}: ")
    try:
        sys.stdout.write(fetch_token(Path(args.data_dir), args.user, password) + "\n")
    except TokenError as exc:
        log.error("%s", exc)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="[notebooks %(levelname)s %(asctime)s] %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return _run(args)
    except (ConfigError, PortInUse, StartupError, DiscoveryError) as exc:
        log.error("%s", exc)
        return 2
