"""How every service of ours runs as a process: the hub's environment in, logging, the lifeline, and
serving until SIGTERM or SIGINT.

The JWT API (run by the launcher), the credits service and the token release service (run by the hub)
each read the `JUPYTERHUB_*` variables, set up logging, tied their life to their parent and waited
for a stop signal in their own words. Kept apart, one of them would sooner or later miss a piece,
and a service that outlives its parent or ignores SIGTERM keeps running, with stale settings, beside
the copy a restarted hub starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from notebooks_service.services.lifeline import die_with_parent

LOG_FORMAT = "[%(levelname).1s %(asctime)s %(name)s] %(message)s"
"""The hub's own log line shape, so that the services' lines read alike beside its lines."""


class CannotStart(ValueError):
    """The environment the service was started with is unusable; the message says what to fix."""


@dataclass(frozen=True)
class HubServiceEnvironment:
    """What the hub tells a service it runs (and the launcher the JWT API, in the same variables)."""

    api_url: str
    """The hub REST API base, without a trailing slash."""
    api_token: str
    """The service's own hub token."""
    prefix: str
    """The service's public path prefix, with a trailing slash."""
    host: str
    port: int
    """Where to listen: the host and port of `JUPYTERHUB_SERVICE_URL`."""

    @property
    def url(self) -> str:
        """Where the service answers, for its start-up log line."""
        return f"http://{self.host}:{self.port}{self.prefix}"

    @classmethod
    def from_environ(cls, default_prefix: str, default_url: str | None = None,
                     environ: Mapping[str, str] | None = None) -> HubServiceEnvironment:
        """Read the variables; an empty one counts as missing. Without `default_url` the service
        URL is required: the service has no port of its own to fall back on."""
        env = os.environ if environ is None else environ
        url = env.get("JUPYTERHUB_SERVICE_URL") or default_url or ""
        missing = [k for k in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL") if not env.get(k)]
        if not url:
            missing.append("JUPYTERHUB_SERVICE_URL")
        if missing:
            raise CannotStart(f"missing environment: {', '.join(missing)}")
        bind = urlsplit(url)
        prefix = env.get("JUPYTERHUB_SERVICE_PREFIX") or default_prefix
        return cls(
            api_url=env["JUPYTERHUB_API_URL"].rstrip("/"),
            api_token=env["JUPYTERHUB_API_TOKEN"],
            prefix=prefix if prefix.endswith("/") else prefix + "/",
            host=bind.hostname or "127.0.0.1",
            port=bind.port or 80,
        )


def stop_requested() -> asyncio.Event:
    """An event of the running loop, set at SIGTERM (how the hub and the launcher stop their
    services) or SIGINT (Ctrl-C in a terminal)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


DRAIN_ENV = "NOTEBOOKS_DRAIN_SECONDS"
"""Set by the Kubernetes render for services behind a Service (`kubernetes.drain_seconds`)."""


def drain_seconds(environ: Mapping[str, str] | None = None) -> float:
    """How long to keep serving after a stop signal (0: stop at once, as on one machine)."""
    raw = (os.environ if environ is None else environ).get(DRAIN_ENV, "").strip()
    try:
        seconds = float(raw or 0)
    except ValueError:
        raise CannotStart(f"{DRAIN_ENV} is not a number of seconds: {raw!r}") from None
    if not 0 <= seconds <= 60:
        raise CannotStart(f"{DRAIN_ENV} must be between 0 and 60 seconds, not {raw}")
    return seconds


async def drain(begin: Callable[[], None], seconds: float, log: logging.Logger) -> None:
    """After a stop signal, before stopping: `begin` makes every answer close its connection, then the
    service keeps serving for `seconds`. A stopping pod leaves its Service's endpoints only after the
    signal, and clients with kept-alive connections to it go on using them: each gets one more answer,
    then opens a new connection, which reaches another pod."""
    if seconds <= 0:
        return
    begin()
    log.info("draining for %g s: answers close their connections", seconds)
    await asyncio.sleep(seconds)


def run_service(serve: Callable[[], Coroutine[Any, Any, None]], log: logging.Logger, *,
                level: str = "INFO", quiet: Iterable[str] = (),
                start_errors: tuple[type[Exception], ...] = ()) -> int:
    """Run `serve` (which returns once `stop_requested` is set) and give the exit status: 0 after a
    stop, 2 when it cannot start (`CannotStart` or one of `start_errors`, said in one log line, as
    the launcher's own start errors are). `quiet` names loggers held to warnings."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    die_with_parent()
    try:
        asyncio.run(serve())
    except (CannotStart, *start_errors) as e:
        log.error("cannot start: %s", e)
        return 2
    return 0
