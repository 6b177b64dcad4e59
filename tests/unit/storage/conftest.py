"""Fixtures for the store tests: every Store (SQL and in-memory) per test, and entity builders.

``store`` runs each test against the SQL store on a migrated SQLite file (id ``sql``) and against
``hostler.testing.MemoryStore`` (id ``memory``), so the fake is held to the real store's promises.
A test about the database itself marks itself ``SQL_ONLY``.
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Callable, Iterator

import pytest

from hostler import testing
from hostler.core import pipelines, ports, runs, tasks
from hostler.storage import database
from hostler.storage import store as sql_store

NOW = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)

MakeRun = Callable[..., tuple[runs.Run, list[tasks.Execution]]]

SQL_ONLY = pytest.mark.parametrize("store", ["sql"], indirect=True)
"""Marks a test that is about the SQL database itself: it runs on the SQL store only."""


@pytest.fixture
def url(tmp_path: pathlib.Path) -> str:
    """Return the URL of a not yet created SQLite database in a directory of its own."""
    return f"sqlite:///{tmp_path / 'db' / 'hostler.db'}"


@pytest.fixture(params=["sql", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[ports.Store]:
    """Return an empty Store of each kind (but for ``default``); closed after the test."""
    result: ports.Store
    if request.param == "sql":
        url: str = request.getfixturevalue("url")
        database.migrate(url)
        result = sql_store.Store(database.connect(url))
    else:
        result = testing.MemoryStore()
    yield result
    result.close()


def config(pipeline: str = "hello", description: str = "", **task: object) -> pipelines.Config:
    """Return a two-task configuration; ``task`` overrides fields of the second task."""
    return pipelines.parse(
        {
            "id": pipeline,
            "description": description,
            "timeout": "1h",
            "tasks": [
                {"id": "fetch", "image": "alpine"},
                {"id": "build", "image": "alpine", "depends_on": {"fetch": "success"}, **task},
            ],
        }
    )


def register(store: ports.Store, pipeline: str = "hello", namespace: str = "default") -> int:
    """Store a version of ``pipeline`` (creating it) and return the version number."""
    cfg = config(pipeline)
    return store.create_version(namespace, cfg, pipelines.digest(cfg), NOW).version


@pytest.fixture
def make_run(store: ports.Store) -> MakeRun:
    """Return a function that stores a run (version 1 of its pipeline, registered if needed)."""

    def make(
        pipeline: str = "hello",
        state: runs.State = runs.State.PENDING,
        created: datetime.datetime = NOW,
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        if store.find_version("default", pipeline, pipelines.digest(config(pipeline))) is None:
            register(store, pipeline)
        run = runs.Run(
            namespace="default",
            pipeline=pipeline,
            id=0,
            version=1,
            state=state,
            status=runs.Status.UNKNOWN,
            reason=None,
            variables={"GREETING": "hi"},
            trigger="manual",
            created=created,
        )
        execs = [
            tasks.Execution(
                namespace="default",
                pipeline=pipeline,
                run=0,
                task=task,
                attempt=1,
                state=tasks.State.WAITING,
                status=tasks.Status.UNKNOWN,
                reason=None,
                created=created,
                position=position,
            )
            for position, task in enumerate(["fetch", "build"])
        ]
        return store.create_run(run, execs)

    return make
