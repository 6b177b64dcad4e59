"""Run routes: start, list (pages, state filter), get, cancel, retry a task, and errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import testclient

from hostler.core import ports, runs, tasks
from hostler.services.context import Context

from .conftest import ANY, API, PIPELINES, Wakes, assert_problem, pipeline

RUNS = f"{PIPELINES}/hello/runs"


def test_start_run_answers_201_with_a_pending_run(
    client: testclient.TestClient, hello: dict[str, Any], wakes: Wakes
) -> None:
    response = client.post(RUNS, json={"variables": {"GREETING": "hi"}})
    assert response.status_code == 201
    run = response.json()
    assert run["namespace"] == "default"
    assert run["pipeline"] == "hello"
    assert run["id"] == 1
    assert run["version"] == 1
    assert (run["state"], run["status"], run["reason"]) == ("pending", "unknown", None)
    assert run["variables"] == {"GREETING": "hi"}
    assert run["trigger"] == "manual"
    assert run["started"] is None
    assert run["cancel_requested"] is False
    assert wakes.count == 1


def test_start_run_with_an_empty_body_starts_without_variables(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.post(RUNS)
    assert response.status_code == 201
    assert response.json()["variables"] == {}


def test_start_run_with_a_bad_variable_name_names_it(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.post(RUNS, json={"variables": {"1BAD": "x"}})
    assert_problem(response, 422, "invalid_argument", field="variables.1BAD")
    assert client.get(RUNS).json()["items"] == []


def test_start_run_with_a_variable_that_is_not_a_string_names_it(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.post(RUNS, json={"variables": {"COUNT": 3}})
    body = assert_problem(response, 422, "invalid_argument", field="variables.COUNT")
    assert body["detail"] == "field 'variables.COUNT': input should be a valid string"


def test_start_run_of_a_missing_pipeline_names_it(client: testclient.TestClient) -> None:
    response = client.post(f"{PIPELINES}/x/runs", json={})
    body = assert_problem(response, 404, "not_found", field=ANY)
    assert body["detail"] == "pipeline 'default/x': not found"


def test_start_run_in_a_missing_namespace_names_it(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces/nope/pipelines/x/runs", json={})
    body = assert_problem(response, 404, "not_found", field=ANY)
    assert body["detail"] == "namespace 'nope': not found"


def test_start_run_without_a_live_version_is_a_failed_precondition(
    client: testclient.TestClient,
) -> None:
    registered = client.post(f"{PIPELINES}/hello/versions", json={"config": pipeline()})
    assert registered.status_code == 201
    response = client.post(RUNS, json={})
    body = assert_problem(response, 409, "failed_precondition", field=ANY)
    assert "no live version" in body["detail"]


def test_get_run(client: testclient.TestClient, run: dict[str, Any]) -> None:
    response = client.get(f"{RUNS}/1")
    assert response.status_code == 200
    assert response.json() == run


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        (f"{RUNS}/9", "run 'default/hello#9'"),
        (f"{PIPELINES}/nope/runs/1", "pipeline 'default/nope'"),
        (f"{PIPELINES}/nope/runs", "pipeline 'default/nope'"),
        (f"{API}/namespaces/nope/pipelines/hello/runs/1", "namespace 'nope'"),
    ],
)
def test_missing_things_are_named(
    client: testclient.TestClient, run: dict[str, Any], url: str, missing: str
) -> None:
    body = assert_problem(client.get(url), 404, "not_found", field=ANY)
    assert body["detail"].startswith(missing), body["detail"]


def test_run_id_that_is_not_a_number_names_the_path_parameter(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    body = assert_problem(client.get(f"{RUNS}/first"), 422, "invalid_argument", field="run")
    assert body["detail"].startswith("path parameter 'run': ")


def test_list_runs_newest_first_with_a_cursor(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    for _ in range(3):
        assert client.post(RUNS, json={}).status_code == 201
    first = client.get(RUNS, params={"limit": 2}).json()
    assert [r["id"] for r in first["items"]] == [3, 2]
    second = client.get(RUNS, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["id"] for r in second["items"]] == [1]
    assert second["next_cursor"] is None


def test_list_runs_filters_by_state(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    stored = ctx.store.get_run("default", "hello", 1)
    ctx.store.update_run(
        stored.evolve(state=runs.State.COMPLETE, status=runs.Status.SUCCESSFUL), stored.revision
    )
    client.post(RUNS, json={})

    def ids(*states: str) -> list[int]:
        body = client.get(RUNS, params={"state": list(states)}).json()
        return [r["id"] for r in body["items"]]

    assert ids("pending") == [2]
    assert ids("complete") == [1]
    assert ids("pending", "complete") == [2, 1]
    assert ids("running") == []


def test_list_runs_with_an_unknown_state_names_it(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.get(RUNS, params={"state": ["pending", "done"]})
    assert_problem(response, 422, "invalid_argument", field="state[1]")


def test_cancel_pending_run_answers_202_cancelling(
    client: testclient.TestClient, run: dict[str, Any], wakes: Wakes
) -> None:
    before = wakes.count
    response = client.post(f"{RUNS}/1/cancel")
    assert response.status_code == 202
    body = response.json()
    assert body["result"] == "cancelling"
    assert body["run"]["cancel_requested"] is True
    assert wakes.count == before + 1


def test_cancel_twice_answers_200_unchanged(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    client.post(f"{RUNS}/1/cancel")
    response = client.post(f"{RUNS}/1/cancel")
    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"


def test_cancel_complete_run_answers_200_unchanged(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    stored = ctx.store.get_run("default", "hello", 1)
    ctx.store.update_run(
        stored.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED), stored.revision
    )
    response = client.post(f"{RUNS}/1/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "unchanged"
    assert (body["run"]["state"], body["run"]["status"]) == ("complete", "failed")
    assert body["run"]["cancel_requested"] is False


def test_cancel_missing_run_names_it(client: testclient.TestClient, run: dict[str, Any]) -> None:
    body = assert_problem(client.post(f"{RUNS}/7/cancel"), 404, "not_found", field=ANY)
    assert body["detail"].startswith("run 'default/hello#7'")


# retry --------------------------------------------------------------------------------------


def failed_run(ctx: Context) -> None:
    """Make run 1 complete and failed: ``fetch`` failed, ``build`` skipped because of it."""
    stored = ctx.store.get_run("default", "hello", 1)
    stored = ctx.store.update_run(stored.evolve(state=runs.State.RUNNING), stored.revision)
    outcome = {"fetch": tasks.Status.FAILED, "build": tasks.Status.SKIPPED}
    for execution in ctx.store.list_executions("default", "hello", 1):
        ctx.store.update_execution(
            execution.evolve(state=tasks.State.COMPLETE, status=outcome[execution.task]),
            execution.revision,
        )
    ctx.store.update_run(
        stored.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED), stored.revision
    )


def test_retry_answers_202_with_the_reopened_run_and_the_new_attempts(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context, wakes: Wakes
) -> None:
    failed_run(ctx)
    before = wakes.count

    response = client.post(f"{RUNS}/1/retry", json={"task": "fetch"})

    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"run", "attempts"}
    assert (body["run"]["id"], body["run"]["state"], body["run"]["status"]) == (
        1,
        "pending",
        "unknown",
    )
    assert (body["run"]["reason"], body["run"]["ended"]) == (None, None)
    assert [(a["task"], a["attempt"], a["state"], a["status"]) for a in body["attempts"]] == [
        ("fetch", 2, "waiting", "unknown"),
        ("build", 2, "waiting", "unknown"),
    ]
    assert body["attempts"][0]["position"] == 0
    assert client.get(f"{RUNS}/1").json() == body["run"]
    tasks_now = client.get(f"{RUNS}/1/tasks/build").json()
    assert (tasks_now["attempt"], tasks_now["state"]) == (2, "waiting")
    assert wakes.count == before + 1


def test_retry_of_a_successful_task_is_409_naming_the_task(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    failed_run(ctx)
    fetch = ctx.store.get_execution("default", "hello", 1, "fetch")
    ctx.store.update_execution(fetch.evolve(status=tasks.Status.SUCCESSFUL), fetch.revision)

    response = client.post(f"{RUNS}/1/retry", json={"task": "fetch"})

    body = assert_problem(response, 409, "failed_precondition", field="task")
    assert body["detail"].startswith("task 'fetch' of run 'default/hello#1': is successful; ")
    assert body["hint"] == "wait for the task to end, or pick a task that failed"
    assert client.get(f"{RUNS}/1").json()["state"] == "complete"


def test_retry_of_a_task_that_has_not_ended_is_409(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    response = client.post(f"{RUNS}/1/retry", json={"task": "fetch"})
    body = assert_problem(response, 409, "failed_precondition", field="task")
    assert "is waiting" in body["detail"]


@pytest.mark.parametrize(
    ("url", "task", "missing"),
    [
        (f"{RUNS}/1/retry", "nope", "task 'nope': not found in pipeline 'hello'"),
        (f"{RUNS}/9/retry", "fetch", "run 'default/hello#9': not found"),
        (f"{PIPELINES}/nope/runs/1/retry", "fetch", "pipeline 'default/nope': not found"),
    ],
)
def test_retry_of_an_unknown_task_or_run_is_404_naming_it(
    client: testclient.TestClient,
    run: dict[str, Any],
    ctx: Context,
    url: str,
    task: str,
    missing: str,
) -> None:
    failed_run(ctx)
    body = assert_problem(client.post(url, json={"task": task}), 404, "not_found", field=ANY)
    assert body["detail"].startswith(missing), body["detail"]
    assert client.get(f"{RUNS}/1").json()["state"] == "complete"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "task"),
        ({"task": ""}, "task"),
        ({"task": 7}, "task"),
        ({"task": "fetch", "attempt": 2}, "attempt"),
    ],
)
def test_retry_with_an_invalid_body_is_422_naming_the_field(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context, body: Any, field: str
) -> None:
    failed_run(ctx)
    response = client.post(f"{RUNS}/1/retry", json=body)
    assert_problem(response, 422, "invalid_argument", field=field)
    assert client.get(f"{RUNS}/1").json()["state"] == "complete"


def test_retry_without_a_body_is_422(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    failed_run(ctx)
    assert_problem(client.post(f"{RUNS}/1/retry"), 422, "invalid_argument", field=ANY)
    response = client.post(
        f"{RUNS}/1/retry", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "invalid_argument", field=ANY)
    assert client.get(f"{RUNS}/1").json()["state"] == "complete"


# delete logs --------------------------------------------------------------------------------


def test_delete_logs_of_a_complete_run_answers_deleted_then_unchanged(
    client: testclient.TestClient, run: dict[str, Any], ctx: Context
) -> None:
    failed_run(ctx)
    fetch = ctx.store.get_execution("default", "hello", 1, "fetch")
    ctx.logs.append(fetch.log_key, [ports.LogLine(fetch.created, "stdout", "fetched")])

    first = client.delete(f"{RUNS}/1/logs")
    again = client.delete(f"{RUNS}/1/logs")

    assert first.status_code == 200, first.text
    assert first.json()["result"] == "deleted"
    assert first.json()["run"]["logs_deleted"] is not None
    assert again.json() == {**first.json(), "result": "unchanged"}
    gone = client.get(f"{RUNS}/1/tasks/fetch/logs")
    assert_problem(gone, 404, "not_found", field="task")


def test_delete_logs_of_a_run_not_complete_is_409(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    body = assert_problem(client.delete(f"{RUNS}/1/logs"), 409, "failed_precondition", field="run")
    assert "once it is complete" in body["detail"]
    assert client.get(f"{RUNS}/1").json()["logs_deleted"] is None


def test_delete_logs_of_a_missing_run_names_it(
    client: testclient.TestClient, run: dict[str, Any]
) -> None:
    body = assert_problem(client.delete(f"{RUNS}/9/logs"), 404, "not_found", field=ANY)
    assert body["detail"].startswith("run 'default/hello#9'")
