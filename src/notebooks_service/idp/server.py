"""Run the development IdP with werkzeug's threaded server until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from werkzeug.serving import make_server

from .endpoints.app import make_app
from .settings import IdpSettings

log = logging.getLogger(__name__)

NOT_FOR_PRODUCTION = (
    "Development identity provider: NOT FOR PRODUCTION (demo users, passwords from config)"
)


def serve(settings: IdpSettings) -> None:
    """Serve until SIGTERM/SIGINT (when run in the main thread), then close state cleanly."""
    log.warning(NOT_FOR_PRODUCTION)
    app = make_app(settings)
    server = make_server(settings.host, settings.port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("Received %s, shutting down", signal.Signals(signum).name)
        # shutdown() waits for serve_forever() to return, so it cannot run in this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    log.info("Issuer %s listening on http://%s:%d", settings.issuer, settings.host, server.port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.extensions["notebooks_idp"]["store"].close()
        log.info("Development IdP stopped")
