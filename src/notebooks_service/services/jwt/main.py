"""Command-line entry: read settings, discover the provider, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import sys

from notebooks_service.oidc.discovery import DiscoveryError
from notebooks_service.services.jwt.service import JwtService
from notebooks_service.services.jwt.settings import SettingsError, load_settings
from notebooks_service.services.runner import drain, drain_seconds, run_service, stop_requested

log = logging.getLogger("notebooks_service.services.jwt")


async def serve(access_log: bool) -> None:
    settings = load_settings()
    # per-request log lines cost throughput; the hub logs every forwarded request anyway
    service = await JwtService.create(settings, access_log=access_log)
    await service.listen()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.info("JWT service on http://%s:%d%s -> %s (issuer %s)", settings.bind_host,
             settings.bind_port, settings.prefix, settings.api_url, service.metadata.issuer)
    linger = drain_seconds()
    await stop_requested().wait()
    await drain(service.start_draining, linger, log)
    await service.close()
    log.info("JWT service stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks_service.services.jwt",
                                     description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (off by default: the hub logs them too)")
    args = parser.parse_args(argv)
    return run_service(lambda: serve(args.access_log), log, level=args.log_level,
                       start_errors=(SettingsError, DiscoveryError))


if __name__ == "__main__":
    sys.exit(main())
