"""Command-line entry: read settings, discover the provider, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from notebooks_service.oidc.discovery import DiscoveryError
from notebooks_service.services.jwt.service import JwtService
from notebooks_service.services.jwt.settings import SettingsError, load_settings
from notebooks_service.services.lifeline import die_with_parent

log = logging.getLogger("notebooks_service.services.jwt")


async def serve(access_log: bool) -> None:
    settings = load_settings()
    # per-request log lines cost throughput; the hub logs every forwarded request anyway
    service = await JwtService.create(settings, access_log=access_log)
    await service.listen()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.info("JWT service on http://%s:%d%s -> %s (issuer %s)", settings.bind_host,
             settings.bind_port, settings.prefix, settings.api_url, service.metadata.issuer)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.close()
    log.info("JWT service stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks_service.services.jwt",
                                     description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (off by default: the hub logs them too)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="[%(levelname).1s %(asctime)s %(name)s] %(message)s")
    die_with_parent()
    try:
        asyncio.run(serve(args.access_log))
    except (SettingsError, DiscoveryError) as e:
        log.error("cannot start: %s", e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
