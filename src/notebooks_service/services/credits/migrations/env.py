"""Alembic environment: the engine is handed over by `db.upgrade`, never read from a file.

On PostgreSQL the migrations run under a transaction-level advisory lock: on Kubernetes the hub and the
credits Deployment start together and both bring the ledger up to date; the second waits for the first
and then finds nothing left to do, instead of failing on a table the first just created. (On one machine
the hub migrates the SQLite ledger before it starts the credits service, so they never race.)
"""

from alembic import context
from sqlalchemy import func, select

from notebooks_service.services.credits.models import Base

MIGRATION_LOCK = int.from_bytes(b"migrate")
"""Any fixed number would do; distinct from the ledger's shared-writes lock."""

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
