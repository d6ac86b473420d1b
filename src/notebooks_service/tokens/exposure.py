"""Whether a server is shared, and a signal the moment it becomes shared.

JupyterHub records a share (to a user or group) and a share code as database rows tied to the server.
Listening to their insertion lets the token guard act within the same event-loop turn as the share API
call, instead of on the next periodic check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from jupyterhub import orm
from sqlalchemy import event

log = logging.getLogger(__name__)


def is_shared(db: Any, spawner_id: int) -> bool:
    """True if the server has any share or share code, expired or not (the safe reading)."""
    return any(
        db.query(model.id).filter(model.spawner_id == spawner_id).first() is not None
        for model in (orm.Share, orm.ShareCode)
    )


def listen_for_shares(on_share: Callable[[int], None]) -> None:
    """Call `on_share(spawner_id)` soon after a share or share code is added to any server."""

    def inserted(_mapper: Any, _connection: Any, target: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not in the hub's event loop: the periodic check covers it
        loop.call_soon(on_share, target.spawner_id)

    for model in (orm.Share, orm.ShareCode):
        event.listen(model, "after_insert", inserted)
