"""Fixtures for the SQL store tests: a migrated SQLite file per test, and entity builders."""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Callable, Iterator

import pytest

from hostler.core import pipelines, runs, tasks
from hostler.storage import database
from hostler.storage import store as sql_store

NOW = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)

MakeRun = Callable[..., tuple[runs.Run, list[tasks.Execution]]]


@pytest.fixture
def url(tmp_path: pathlib.Path) -> str:
    """Return the URL of a not yet created SQLite database in a directory of its own."""
    return f"sqlite:///{tmp_path / 'db' / 'hostler.db'}"


@pytest.fixture
def store(url: str) -> Iterator[sql_store.Store]:
    """Return a Store on a freshly migrated database; closed after the test."""
    database.migrate(url)
    result = sql_store.Store(database.connect(url))
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


def register(store: sql_store.Store, pipeline: str = "hello", namespace: str = "default") -> int:
    """Store a version of ``pipeline`` (creating it) and return the version number."""
    cfg = config(pipeline)
    return store.create_version(namespace, cfg, pipelines.digest(cfg), NOW).version


@pytest.fixture
def make_run(store: sql_store.Store) -> MakeRun:
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
