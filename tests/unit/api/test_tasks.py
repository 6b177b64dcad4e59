"""Task routes: list (pages), get (attempts), errors naming what is missing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import testclient

from .conftest import ANY, API, PIPELINES, assert_problem

TASKS = f"{PIPELINES}/hello/runs/1/tasks"


def test_list_tasks_in_pipeline_order(client: testclient.TestClient, run: dict[str, Any]) -> None:
    response = client.get(TASKS)
    assert response.status_code == 200
    body = response.json()
    assert [(t["task"], t["position"], t["attempt"]) for t in body["items"]] == [
        ("fetch", 0, 1),
        ("build", 1, 1),
    ]
    first = body["items"][0]
    assert (first["namespace"], first["pipeline"], first["run"]) == ("default", "hello", 1)
    assert (first["state"], first["status"], first["reason"]) == ("waiting", "unknown", None)
    assert first["exit_code"] is None
    assert body["next_cursor"] is None


def test_list_tasks_pages_with_a_cursor(client: testclient.TestClient, run: dict[str, Any]) -> None:
    first = client.get(TASKS, params={"limit": 1}).json()
    assert [t["task"] for t in first["items"]] == ["fetch"]
    second = client.get(TASKS, params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [t["task"] for t in second["items"]] == ["build"]
    assert second["next_cursor"] is None


def test_get_task_latest_attempt(client: testclient.TestClient, run: dict[str, Any]) -> None:
    response = client.get(f"{TASKS}/build")
    assert response.status_code == 200
    assert response.json()["task"] == "build"
    assert response.json()["attempt"] == 1


def test_get_task_by_attempt(client: testclient.TestClient, run: dict[str, Any]) -> None:
    assert client.get(f"{TASKS}/build", params={"attempt": 1}).json()["attempt"] == 1
    body = assert_problem(
        client.get(f"{TASKS}/build", params={"attempt": 2}), 404, "not_found", field=ANY
    )
    assert "build" in body["detail"]


def test_get_task_with_attempt_zero_names_the_parameter(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    response = client.get(f"{TASKS}/build", params={"attempt": 0})
    assert_problem(response, 422, "invalid_argument", field="attempt")


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        (f"{TASKS}/nope", "task"),
        (f"{TASKS}/nope/logs", "task"),
        (f"{PIPELINES}/hello/runs/9/tasks", "run 'default/hello#9'"),
        (f"{PIPELINES}/hello/runs/9/tasks/fetch", "run 'default/hello#9'"),
        (f"{PIPELINES}/nope/runs/1/tasks", "pipeline 'default/nope'"),
        (f"{API}/namespaces/nope/pipelines/hello/runs/1/tasks/fetch", "namespace 'nope'"),
    ],
)
def test_missing_things_are_named(
    client: testclient.TestClient, run: dict[str, Any], url: str, missing: str
) -> None:
    body = assert_problem(client.get(url), 404, "not_found", field=ANY)
    assert body["detail"].startswith(missing), body["detail"]
