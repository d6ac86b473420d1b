"""Opening the ledger database and bringing its schema up to date with Alembic."""

from __future__ import annotations

import logging
from importlib.resources import files
from typing import Any

from sqlalchemy import Engine, create_engine, event

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the hub read balances while the service writes; the timeout waits out short locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """Send list parameters (the columns of `bulk`'s set-based statements) in binary: psycopg's text
    format quotes each element in Python, which cost 0.15 s per cycle with 10,000 running servers."""
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


CONNECT_TIMEOUT = 5
"""Seconds a connection attempt to PostgreSQL may take. The hub checks admission on its event loop,
so while a ledger host does not answer at all, each start would otherwise hold every hub request for
the system's TCP timeout (minutes) before it is refused."""


def _connect_args(url: str) -> dict[str, Any]:
    """psycopg prepares a statement on its fifth use, and PostgreSQL may then plan it generically:
    `id IN (500 parameters)` becomes a linear search per row instead of a hash lookup, which made a
    cycle with 5,000 running servers three times slower. Custom plans keep the hash lookup."""
    if url.startswith("postgresql"):
        return {"connect_args": {"options": "-c plan_cache_mode=force_custom_plan",
                                 "connect_timeout": CONNECT_TIMEOUT}}
    return {}


def open_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets the pragmas the hub and the service need to share it,
    psycopg binary arrays."""
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), **_connect_args(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", _binary_arrays)
    return engine


def alembic_config(engine: Engine) -> Any:
    """Alembic's config for our migrations. Alembic is imported here, quietly: it logs its plugin
    setup at INFO on import, which would land in the hub's and the launcher's logs."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files(__package__).joinpath("migrations")))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (idempotent; safe to run at each start)."""
    config = alembic_config(engine)
    from alembic import command

    command.upgrade(config, "head")
    log.debug("credits ledger schema is current on %s", engine.url.render_as_string())
