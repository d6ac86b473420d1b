"""The single-user server side of our JupyterLab extension: the endpoints behind the "Access token" panel,
the credits status-bar item and the memory-limit notices.

Enabled in every server through `jupyter_server_config.d/notebooks_service.json` (shipped in the wheel);
the prebuilt JupyterLab extension is shipped in the wheel too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir

LABEXTENSION_NAME = "@notebooks-service/access-token"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "notebooks_service.singleuser"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "../labextension/static", "dest": LABEXTENSION_NAME}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from jupyter_server.utils import url_path_join
    from tornado.ioloop import IOLoop

    from notebooks_service.singleuser.credits import CreditsWalletHandler
    from notebooks_service.singleuser.handlers import (
        KeepHandler,
        SaveHandler,
        SettingsHandler,
        TokenHandler,
    )
    from notebooks_service.singleuser.keeper import Keeper
    from notebooks_service.singleuser.limits import LimitsHandler, mark_new_kernels, watch_from_environment
    from notebooks_service.singleuser.release_client import ServerIdentity

    watch = watch_from_environment()
    IOLoop.current().add_callback(watch.run)
    if watch.events_file is not None:
        mark_new_kernels(server_app.event_logger)
    limits = url_path_join(server_app.web_app.settings["base_url"], "notebooks-limits")
    server_app.web_app.add_handlers(".*$", [(limits, LimitsHandler, {"watch": watch})])
    identity = ServerIdentity.from_environment()
    if not identity.owner:
        server_app.log.info("notebooks_service.singleuser: not started by a hub, token panel disabled")
        return
    home = Path(server_app.root_dir).expanduser()
    keeper = Keeper(identity, Path(jupyter_data_dir()) / "notebooks-token-keep.json")
    IOLoop.current().add_callback(keeper.start)
    kwargs = {"identity": identity, "keeper": keeper, "home": home}
    base = url_path_join(server_app.web_app.settings["base_url"], "notebooks-token")
    server_app.web_app.add_handlers(".*$", [
        (url_path_join(base, path), handler, kwargs)
        for path, handler in (("token", TokenHandler), ("settings", SettingsHandler),
                              ("save", SaveHandler), ("keep", KeepHandler))
    ])
    server_app.log.info("notebooks_service.singleuser: access token endpoints at %s", base)
    credits = url_path_join(server_app.web_app.settings["base_url"], "notebooks-credits", "wallet")
    server_app.web_app.add_handlers(".*$", [(credits, CreditsWalletHandler, {"owner": identity.owner})])
