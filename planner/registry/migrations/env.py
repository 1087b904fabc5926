"""Alembic's entry point: migrate the connection :func:`planner.registry.store.open_registry` hands over."""

from __future__ import annotations

from alembic import context

from planner.registry.schema import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
