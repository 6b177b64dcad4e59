"""Migrations: they build exactly the schema in ``tables``, and running them again is harmless."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import alembic.command
import alembic.config
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


def test_migrations_create_the_object_eviction_and_run_token_indexes(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    assert [i["column_names"] for i in inspector.get_indexes("objects")] == [
        ["namespace", "pipeline", "run", "created"]
    ]
    assert [i["column_names"] for i in inspector.get_indexes("tokens")] == [["run_ref"]]


def test_event_ids_are_autoincrement_so_sqlite_never_reuses_them(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).scalar_one()
    assert "PRIMARY KEY AUTOINCREMENT" in sql


def test_history_ids_are_autoincrement_so_sqlite_never_reuses_them(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'history'"
        ).scalar_one()
    assert "PRIMARY KEY AUTOINCREMENT" in sql


def migrate_to(url: str, revision: str) -> None:
    """Bring the database at ``url`` to ``revision``, as ``database.migrate`` does to the head."""
    engine = database.connect(url)
    try:
        with database.transaction(engine) as connection:
            config = alembic.config.Config()
            config.set_main_option("script_location", str(database.MIGRATIONS))
            config.attributes["connection"] = connection
            alembic.command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_runs_stored_before_canaries_are_live_runs(url: str) -> None:
    migrate_to(url, "0004")
    engine = database.connect(url)
    now = "2025-03-01 12:00:00.000000"
    try:
        with database.transaction(engine) as connection:
            for sql in [
                "INSERT INTO pipelines VALUES ('default', 'hello', '', 1, 1, :now, :now, 1)",
                "INSERT INTO versions VALUES ('default', 'hello', 1, 'sha256:x', '{}', :now)",
                "INSERT INTO runs (namespace, pipeline, id, version, state, status, variables,"
                " trigger, created, cancel_requested, revision)"
                " VALUES ('default', 'hello', 1, 1, 'pending', 'unknown', '{}', 'manual', :now,"
                " 0, 1)",
                "INSERT INTO task_executions (namespace, pipeline, run, task, attempt, position,"
                " state, status, created, revision)"
                " VALUES ('default', 'hello', 1, 'fetch', 1, 0, 'waiting', 'unknown', :now, 1)",
            ]:
                connection.execute(sa.text(sql), {"now": now})
        database.migrate(url)
        with engine.connect() as connection:
            route = connection.execute(sa.select(tables.runs.c.route)).scalar_one()
            canary = connection.execute(sa.select(tables.pipelines.c.canary)).scalar_one()
            executions = connection.execute(
                sa.select(sa.func.count()).select_from(tables.task_executions)
            ).scalar_one()
    finally:
        engine.dispose()
    assert (route, canary, executions) == ("live", None, 1)


def downgrade_to(url: str, revision: str) -> None:
    """Bring the database at ``url`` back down to ``revision``."""
    engine = database.connect(url)
    try:
        with database.transaction(engine) as connection:
            config = alembic.config.Config()
            config.set_main_option("script_location", str(database.MIGRATIONS))
            config.attributes["connection"] = connection
            alembic.command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_old_tokens_are_no_run_tokens_and_a_downgrade_deletes_only_run_tokens(
    url: str,
) -> None:
    migrate_to(url, "0007")
    engine = database.connect(url)
    now = "2025-03-01 12:00:00.000000"
    token = (
        "INSERT INTO tokens (id, name, roles, digest, created, created_by, disabled, revision"
        "{extra}) VALUES (:id, :name, '[]', 'x', :now, 'alice', 0, 1{value})"
    )
    try:
        with database.transaction(engine) as connection:
            connection.execute(
                sa.text(token.format(extra="", value="")),
                {"id": "000000000001", "name": "old", "now": now},
            )
        database.migrate(url)
        with database.transaction(engine) as connection:
            connection.execute(
                sa.text(token.format(extra=", run_ref", value=", 'default/hello/1'")),
                {"id": "000000000002", "name": "run", "now": now},
            )
            found = connection.execute(sa.select(tables.tokens.c.name, tables.tokens.c.run_ref))
            before = sorted(tuple(row) for row in found)
        downgrade_to(url, "0007")
        inspector = sa.inspect(engine)
        after = [c["name"] for c in inspector.get_columns("tokens")]
        with engine.connect() as connection:
            left = connection.execute(sa.text("SELECT name FROM tokens")).scalars().all()
        has_objects = inspector.has_table("objects")
        database.migrate(url)
        again = differences(engine, tables.metadata)
    finally:
        engine.dispose()
    assert before == [("old", None), ("run", "default/hello/1")]
    assert "run_ref" not in after
    assert not has_objects
    # A run token would outlive its run once no run's end deletes it: the downgrade deletes it.
    assert left == ["old"]
    assert again == []


def test_subscriptions_made_by_hand_go_with_a_downgrade_and_come_back_empty(url: str) -> None:
    database.migrate(url)
    engine = database.connect(url)
    now = "2025-03-01 12:00:00.000000"
    try:
        with database.transaction(engine) as connection:
            for sql in [
                "INSERT INTO pipelines VALUES ('default', 'hello', '', NULL, 0, :now, :now, 1,"
                " NULL)",
                "INSERT INTO subscriptions VALUES ('default', 'hello', 'nightly', 'cron',"
                " '{}', :now, 'alice')",
            ]:
                connection.execute(sa.text(sql), {"now": now})
        downgrade_to(url, "0008")
        dropped = not sa.inspect(engine).has_table("subscriptions")
        database.migrate(url)
        with engine.connect() as connection:
            left = connection.execute(sa.select(sa.func.count()).select_from(tables.subscriptions))
            count = left.scalar_one()
        again = differences(engine, tables.metadata)
    finally:
        engine.dispose()
    assert dropped
    assert count == 0
    assert again == []


def test_migrating_twice_is_harmless(url: str, engine: sa.Engine) -> None:
    database.migrate(url)
    with engine.connect() as connection:
        head = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        defaults = connection.execute(
            sa.select(tables.namespaces.c.name, tables.namespaces.c.description)
        ).all()
    assert [tuple(row) for row in head] == [("0010",)]
    assert [tuple(row) for row in defaults] == [("default", "The default namespace")]
    assert differences(engine, tables.metadata) == []


def test_extensions_installed_from_images_go_with_a_downgrade_and_come_back_empty(
    url: str,
) -> None:
    database.migrate(url)
    engine = database.connect(url)
    now = "2025-03-01 12:00:00.000000"
    try:
        with database.transaction(engine) as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO extensions VALUES ('slack', 'hostler-ext-slack:1.3.0', "
                    "'sha256:x', '1.3.0', NULL, '{}', :now, 'alice')"
                ),
                {"now": now},
            )
        downgrade_to(url, "0009")
        dropped = not sa.inspect(engine).has_table("extensions")
        kept = sa.inspect(engine).has_table("subscriptions")
        database.migrate(url)
        with engine.connect() as connection:
            left = connection.execute(sa.select(sa.func.count()).select_from(tables.extensions))
            count = left.scalar_one()
        again = differences(engine, tables.metadata)
    finally:
        engine.dispose()
    assert dropped and kept
    assert count == 0
    assert again == []
