"""Alembic environment for Hostler's schema; run through ``hostler.storage.database.migrate``.

``migrate`` hands over an open Connection (in ``config.attributes["connection"]``) inside its own
transaction. Without one, for example when a developer generates a revision with the Alembic
command line, the URL comes from the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from hostler.storage import database, tables

config = context.config


def _run_offline(url: str) -> None:
    context.configure(
        url=url,
        target_metadata=tables.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection: sa.Connection) -> None:
    # render_as_batch: later revisions that alter tables must work on SQLite, which can only
    # rebuild a table to change it.
    context.configure(connection=connection, target_metadata=tables.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: run database.migrate(url)")
    if context.is_offline_mode():
        _run_offline(url)
        return
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            _run_online(connection)
    finally:
        engine.dispose()


_main()
