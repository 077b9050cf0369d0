"""Alembic environment: migrations run on the connection `core.storage.migrate` hands over."""

from __future__ import annotations

from alembic import context

from core.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
