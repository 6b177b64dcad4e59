"""Migrations: they build exactly the schema in ``tables``, and running them again is harmless."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hostler.storage import database, tables


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    """Return an engine on a database migrated to the newest revision."""
    database.migrate(url)
    result = database.connect(url)
    yield result
    result.dispose()


def differences(engine: sa.Engine, metadata: sa.MetaData) -> list[Any]:
    """Return what Alembic's autogenerate finds between the database and ``metadata``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_the_tables(engine: sa.Engine) -> None:
    assert differences(engine, tables.metadata) == []


def test_comparison_notices_a_column_the_migrations_lack(engine: sa.Engine) -> None:
    changed = sa.MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["runs"].append_column(sa.Column("extra", sa.Integer, nullable=True))
    found = differences(engine, changed)
    assert [(d[0], d[3].name) for d in found] == [("add_column", "extra")]


def test_migrations_create_the_state_indexes(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    assert [i["column_names"] for i in inspector.get_indexes("runs")] == [["state"]]
    assert [i["column_names"] for i in inspector.get_indexes("task_executions")] == [["state"]]


def test_migrations_create_the_event_filter_indexes(engine: sa.Engine) -> None:
    found = sorted(i["column_names"] for i in sa.inspect(engine).get_indexes("events"))
    assert found == [["kind"], ["namespace", "pipeline", "run"], ["time"]]


def test_event_ids_are_autoincrement_so_sqlite_never_reuses_them(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).scalar_one()
    assert "PRIMARY KEY AUTOINCREMENT" in sql


def test_migrating_twice_is_harmless(url: str, engine: sa.Engine) -> None:
    database.migrate(url)
    with engine.connect() as connection:
        head = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        defaults = connection.execute(
            sa.select(tables.namespaces.c.name, tables.namespaces.c.description)
        ).all()
    assert [tuple(row) for row in head] == [("0004",)]
    assert [tuple(row) for row in defaults] == [("default", "The default namespace")]
    assert differences(engine, tables.metadata) == []
