"""Alembic environment: the engine is handed over by `db.upgrade`, never read from a file."""

from alembic import context

from notebooks_service.services.credits.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
