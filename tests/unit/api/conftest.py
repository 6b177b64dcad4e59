"""Fixtures for the API tests: the app over a real Context (SQLite store, file log store).

No engine runs: a started run stays pending, and tests write task logs into the log store
themselves.
"""

from __future__ import annotations

import datetime
import pathlib
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette import exceptions as starlette_exceptions

from hostler import config
from hostler.api import app
from hostler.core import ports
from hostler.logs import files
from hostler.objects import files as object_files
from hostler.services.context import Context, Limits
from hostler.storage import database
from hostler.storage import store as sql_store

# Starlette 1.x warns that its TestClient wants `httpx2` instead of `httpx`; the project pins
# httpx (the SDK client uses it), so silence that one warning until the dev group adds httpx2.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", starlette_exceptions.StarletteDeprecationWarning)
    from fastapi import testclient

API = "/api/v1"
PIPELINES = f"{API}/namespaces/default/pipelines"
BODY_LIMIT = 1024
PIPELINE_LIMIT = 2048
OBJECT_LIMITS = Limits(
    keep_pipeline_objects=3, keep_runs=2, max_pipeline_object_bytes=8192, max_run_object_bytes=4096
)
"""Small object limits, so that tests pass them cheaply."""
T0 = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def pipeline(pipeline_id: str = "hello", **changes: Any) -> dict[str, Any]:
    """Return a two-task pipeline configuration; ``changes`` replace top-level fields."""
    data: dict[str, Any] = {
        "id": pipeline_id,
        "description": "Says hello",
        "tasks": [
            {"id": "fetch", "image": "alpine", "command": ["echo", "fetch"]},
            {"id": "build", "image": "alpine", "depends_on": {"fetch": "success"}},
        ],
    }
    data.update(changes)
    return data


def log_line(n: int, text: str | None = None) -> ports.LogLine:
    """Return log line number ``n``."""
    return ports.LogLine(T0 + datetime.timedelta(seconds=n), "stdout", text or f"line {n}")


class Wakes:
    """Counts the engine wake-ups the use cases ask for."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def settings(tmp_path: pathlib.Path) -> config.Settings:
    """Return settings with small body limits, so that tests can pass them cheaply, in
    development mode: requests need no token (tests/unit/api/test_access.py tests tokens)."""
    return config.Settings(
        data_dir=tmp_path,
        dev=True,
        server=config.Server(max_body_bytes=BODY_LIMIT, max_pipeline_bytes=PIPELINE_LIMIT),
    )


@pytest.fixture
def wakes() -> Wakes:
    """Return the engine doorbell of the context."""
    return Wakes()


@pytest.fixture
def ctx(settings: config.Settings, wakes: Wakes) -> Iterator[Context]:
    """Return a Context over a freshly migrated SQLite database and a file log store."""
    database.migrate(settings.database_url)
    store = sql_store.Store(database.connect(settings.database_url))
    content = object_files.Store(settings.objects_dir)
    yield Context(
        store=store,
        logs=files.Store(settings.logs_dir, content),
        wake=wakes,
        objects=content,
        limits=OBJECT_LIMITS,
    )
    store.close()


@pytest.fixture
def client(ctx: Context, settings: config.Settings) -> Iterator[testclient.TestClient]:
    """Return a test client of the API app."""
    with testclient.TestClient(app.create(ctx, settings)) as test_client:
        yield test_client


@pytest.fixture
def hello(client: testclient.TestClient) -> dict[str, Any]:
    """Register and deploy the pipeline ``default/hello``; return the answer."""
    response = client.post(PIPELINES, json={"config": pipeline()})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def run(client: testclient.TestClient, hello: dict[str, Any]) -> dict[str, Any]:
    """Start run 1 of ``default/hello``; return it."""
    response = client.post(f"{PIPELINES}/hello/runs", json={"variables": {"GREETING": "hi"}})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


ANY = object()
"""Passed as ``field`` to ``assert_problem``: any field will do."""


def assert_problem(
    response: Any, status: int, code: str, *, field: object = None, detail: str | None = None
) -> dict[str, Any]:
    """Assert that ``response`` is a problem document with these values; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://hostler.dev/problems/{code}"
    if field is not ANY:
        assert body["field"] == field, body
    if detail is not None:
        assert body["detail"] == detail
    assert set(body) == {"type", "title", "status", "detail", "code", "field", "hint"}
    return body
