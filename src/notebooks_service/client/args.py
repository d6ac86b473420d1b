"""The `notebooks servers` arguments. Kept apart from the commands so that building the `notebooks`
parser (for `notebooks up` too) imports no HTTP client."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_TIMEOUT = 10.0
DEFAULT_WAIT = 300.0


def add_servers_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--hub", metavar="URL",
                        help="the hub to start from (default: $NOTEBOOKS_URL, or the session's "
                             "$JUPYTERHUB_PUBLIC_HUB_URL); its zone directory names the other zones")
    common.add_argument("--token-file", type=Path, metavar="PATH",
                        help="file holding the OIDC access token (default: $OIDC_ACCESS_TOKEN, then "
                             "$OIDC_ACCESS_TOKEN_FILE, then the session's /var/run/secrets/... files)")
    common.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")
    common.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"longest wait for any one answer of a zone (default {DEFAULT_TIMEOUT:g})")

    servers = commands.add_parser(
        "servers", help="your servers in every zone, through the JWT API with your OIDC token")
    actions = servers.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="your servers in every zone")

    start = actions.add_parser("start", parents=[common],
                               help="start a server in one zone and follow its progress until ready")
    start.add_argument("--zone", help="zone name (default: the zone of --hub)")
    start.add_argument("--profile", help="server profile (default: the zone's default)")
    start.add_argument("--mount-token", action="store_true",
                       help="mount your access token in the server (leave off if you will share it)")
    start.add_argument("--name", default="", help="named server (when the hub allows them)")
    start.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                       help=f"give up following the start after this long (default {DEFAULT_WAIT:g})")

    stop = actions.add_parser("stop", parents=[common], help="stop a server in one zone")
    stop.add_argument("--zone", help="zone name (default: the zone of --hub)")
    stop.add_argument("--name", default="", help="named server")
    stop.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                      help=f"give up waiting for the stop after this long (default {DEFAULT_WAIT:g})")

    credits = actions.add_parser("credits", parents=[common], help="your wallets' balances")
    credits.add_argument("--zone", help="only this zone (default: every zone with credits)")
