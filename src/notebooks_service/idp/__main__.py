"""`python -m notebooks_service.idp --settings settings.json`: the development IdP process."""

from __future__ import annotations

import argparse
import logging
import sys

from .server import serve
from .settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notebooks_service.idp",
        description="Development OpenID Connect provider. NOT FOR PRODUCTION.",
    )
    parser.add_argument("--settings", required=True, help="JSON settings written by the launcher")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    serve(load_settings(args.settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
