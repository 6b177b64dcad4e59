"""Deployments over HTTP: deploy (and plan) a version, canaries, promote and abort, the deployment
history, the audit history and the diff of two versions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from fastapi import testclient

from hostler.core import runs
from hostler.services.context import Context

from .conftest import API, PIPELINES, assert_problem, pipeline

HELLO = f"{PIPELINES}/hello"
DEPLOYMENTS = f"{HELLO}/deployments"
PROMOTE = f"{HELLO}/canary/promote"
ABORT = f"{HELLO}/canary/abort"
HISTORY = f"{API}/history"


@pytest.fixture
def versions(client: testclient.TestClient, hello: dict[str, Any]) -> None:
    """Register v2 (parallelism 2) and v3 (a third task) of ``hello``; v1 stays live."""
    for config in (pipeline(parallelism=2), pipeline(parallelism=2, tasks=three_tasks())):
        response = client.post(f"{HELLO}/versions", json={"config": config})
        assert response.status_code == 201, response.text


def three_tasks() -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = pipeline()["tasks"]
    return [*tasks, {"id": "ship", "image": "alpine"}]


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def state(client: testclient.TestClient) -> tuple[Any, ...]:
    """Return what a deployment can change, as the API shows it."""
    return (
        ok(client.get(HELLO)),
        ok(client.get(DEPLOYMENTS)),
        ok(client.get(f"{HELLO}/runs")),
        ok(client.get(HISTORY)),
        ok(client.get(f"{API}/events")),
    )


def start_runs(client: testclient.TestClient, count: int) -> list[dict[str, Any]]:
    return [ok(client.post(f"{HELLO}/runs", json={}), 201) for _ in range(count)]


def canary(client: testclient.TestClient, version: int = 2, percent: int = 50) -> dict[str, Any]:
    return ok(client.post(DEPLOYMENTS, json={"version": version, "canary": percent}), 201)


# deploy --------------------------------------------------------------------------------------


def test_a_deploy_answers_201_with_the_plan_and_the_deployment(
    client: testclient.TestClient, versions: None
) -> None:
    answer = ok(client.post(DEPLOYMENTS, json={"version": 2, "planned_against": 1}), 201)

    assert answer["applied"] is True
    plan = answer["plan"]
    assert (plan["action"], plan["from_version"], plan["to_version"]) == ("upgrade", 1, 2)
    assert plan["settings"] == [{"field": "parallelism", "before": None, "after": 2}]
    assert (
        plan["text"][0]
        == plan["headline"]
        == "Deploy hello v1 → v2: 0 tasks added, 0 changed, 0 removed"
    )
    deployment = answer["deployment"]
    assert {k: deployment[k] for k in ("id", "kind", "state", "from_version", "to_version")} == {
        "id": 2,
        "kind": "deploy",
        "state": "deployed",
        "from_version": 1,
        "to_version": 2,
    }
    assert deployment["actor"] == "anonymous"
    assert (answer["pipeline"]["live_version"], answer["pipeline"]["canary"]) == (2, None)
    assert ok(client.get(HELLO))["live_version"] == 2


def test_deploying_an_older_version_is_a_rollback(
    client: testclient.TestClient, versions: None
) -> None:
    ok(client.post(DEPLOYMENTS, json={"version": 3}), 201)

    answer = ok(client.post(DEPLOYMENTS, json={"version": 2}), 201)

    assert answer["plan"]["action"] == "rollback"
    assert answer["plan"]["counts"] == {"added": 0, "changed": 0, "removed": 1}
    assert (answer["deployment"]["kind"], answer["deployment"]["from_version"]) == ("rollback", 3)


def test_a_dry_run_answers_200_with_the_plan_and_changes_nothing(
    client: testclient.TestClient, versions: None
) -> None:
    before = state(client)

    answer = ok(client.post(DEPLOYMENTS, json={"version": 3, "dry_run": True}))

    assert (answer["applied"], answer["pipeline"], answer["deployment"]) == (False, None, None)
    assert answer["plan"]["action"] == "upgrade"
    assert answer["plan"]["counts"] == {"added": 1, "changed": 0, "removed": 0}
    assert state(client) == before


def test_deploying_the_live_version_is_refused_with_a_hint(
    client: testclient.TestClient, versions: None
) -> None:
    before = ok(client.get(DEPLOYMENTS))

    response = client.post(DEPLOYMENTS, json={"version": 1})

    body = assert_problem(response, 409, "failed_precondition", field="version")
    assert body["detail"] == "pipeline 'default/hello': v1 is the live version already"
    assert "force_same_version" in body["hint"]
    assert ok(client.get(DEPLOYMENTS)) == before


def test_the_live_version_is_redeployed_with_force_same_version(
    client: testclient.TestClient, versions: None
) -> None:
    answer = ok(client.post(DEPLOYMENTS, json={"version": 1, "force_same_version": True}), 201)

    assert answer["plan"]["action"] == "redeploy"
    assert (answer["deployment"]["kind"], answer["pipeline"]["live_version"]) == ("redeploy", 1)


@pytest.mark.parametrize("planned_against", [2, None])
def test_a_deploy_planned_against_another_live_version_is_a_conflict(
    client: testclient.TestClient, versions: None, planned_against: int | None
) -> None:
    before = state(client)

    response = client.post(DEPLOYMENTS, json={"version": 3, "planned_against": planned_against})

    body = assert_problem(response, 409, "conflict", field="planned_against")
    assert "plan again" in body["hint"]
    assert state(client)[:3] == before[:3]


def test_deploying_a_missing_version_is_not_found(
    client: testclient.TestClient, versions: None
) -> None:
    response = client.post(DEPLOYMENTS, json={"version": 9})

    assert_problem(response, 404, "not_found", field="version")


# canaries ------------------------------------------------------------------------------------


def test_a_canary_shares_new_runs_and_runs_show_their_route(
    client: testclient.TestClient, versions: None
) -> None:
    answer = ok(
        client.post(
            DEPLOYMENTS,
            json={
                "version": 2,
                "canary": 50,
                "auto_abort": {"max_failure_rate": 20, "window": 10},
            },
        ),
        201,
    )

    assert answer["plan"]["action"] == "canary"
    assert answer["plan"]["routing"] == {
        "percent": 50,
        "auto_abort": {"max_failure_rate": 20, "window": 10},
        "tallies": [],
    }
    deployment = answer["deployment"]
    assert (deployment["kind"], deployment["state"], deployment["percent"]) == (
        "canary",
        "canary",
        50,
    )
    assert (answer["pipeline"]["live_version"], answer["pipeline"]["canary"]) == (
        1,
        deployment["id"],
    )
    started = start_runs(client, 4)
    assert [(r["route"], r["version"]) for r in started] == [("live", 1), ("canary", 2)] * 2
    listed = ok(client.get(f"{HELLO}/runs"))["items"]
    assert [(r["id"], r["route"]) for r in listed] == [
        (4, "canary"),
        (3, "live"),
        (2, "canary"),
        (1, "live"),
    ]


def test_a_deploy_while_a_canary_is_in_progress_is_refused(
    client: testclient.TestClient, versions: None
) -> None:
    canary(client)

    for body in ({"version": 3}, {"version": 3, "dry_run": True}):
        response = client.post(DEPLOYMENTS, json=body)
        problem = assert_problem(response, 409, "failed_precondition", field="pipeline")
        assert "promote or abort it first" in problem["hint"]
    up = client.post(PIPELINES, json={"config": pipeline(parallelism=5)})
    assert_problem(up, 409, "failed_precondition", field="pipeline")
    versions_now = ok(client.get(f"{HELLO}/versions"))["items"]
    assert [v["version"] for v in versions_now] == [3, 2, 1]


def test_a_promote_dry_run_shows_the_plan_and_the_tallies_and_changes_nothing(
    client: testclient.TestClient, versions: None
) -> None:
    canary(client)
    start_runs(client, 3)
    before = state(client)

    answer = ok(client.post(PROMOTE, json={"candidate": 2, "dry_run": True}))

    assert answer["applied"] is False
    plan = answer["plan"]
    assert (plan["action"], plan["from_version"], plan["to_version"]) == ("promote", 1, 2)
    assert plan["runs_in_flight"] == 3
    tallies = [(t["version"], t["runs"], t["success_rate"]) for t in plan["routing"]["tallies"]]
    assert tallies == [(1, 2, None), (2, 1, None)]
    assert state(client) == before


def test_promoting_makes_the_candidate_live_for_later_runs(
    client: testclient.TestClient, versions: None
) -> None:
    canary(client)

    answer = ok(client.post(PROMOTE, json={"candidate": 2}))

    assert answer["applied"] is True
    assert answer["plan"]["action"] == "promote"
    assert (answer["deployment"]["state"], answer["deployment"]["reason"]) == (
        "promoted",
        "promoted by anonymous",
    )
    assert (answer["pipeline"]["live_version"], answer["pipeline"]["canary"]) == (2, None)
    assert [(r["route"], r["version"]) for r in start_runs(client, 3)] == [("live", 2)] * 3


def test_aborting_sends_every_new_run_to_the_live_version(
    client: testclient.TestClient, versions: None
) -> None:
    canary(client)
    dry = ok(client.post(ABORT, json={"dry_run": True}))
    assert (dry["applied"], dry["plan"]["action"], dry["plan"]["to_version"]) == (
        False,
        "abort",
        1,
    )
    assert ok(client.get(HELLO))["canary"] is not None

    answer = ok(client.post(ABORT, json={}))

    assert (answer["deployment"]["state"], answer["deployment"]["reason"]) == (
        "aborted",
        "aborted by anonymous",
    )
    assert (answer["pipeline"]["live_version"], answer["pipeline"]["canary"]) == (1, None)
    assert [(r["route"], r["version"]) for r in start_runs(client, 4)] == [("live", 1)] * 4


def test_ending_a_canary_of_another_candidate_is_a_conflict(
    client: testclient.TestClient, versions: None
) -> None:
    canary(client)
    before = state(client)

    for route in (PROMOTE, ABORT):
        response = client.post(route, json={"candidate": 3})
        body = assert_problem(response, 409, "conflict", field="candidate")
        assert "plan again" in body["hint"]

    assert state(client)[:3] == before[:3]


@pytest.mark.parametrize("route", [PROMOTE, ABORT])
@pytest.mark.parametrize("dry_run", [False, True])
def test_promote_and_abort_without_a_canary_are_refused(
    client: testclient.TestClient, versions: None, route: str, dry_run: bool
) -> None:
    response = client.post(route, json={"dry_run": dry_run})

    body = assert_problem(response, 409, "failed_precondition", field="pipeline")
    assert "has no canary" in body["detail"]


# the deployment history ----------------------------------------------------------------------


def finish(ctx: Context, run: int, status: runs.Status) -> None:
    current = ctx.store.get_run("default", "hello", run)
    ended = current.evolve(state=runs.State.COMPLETE, status=status)
    ctx.store.update_run(ended, current.revision)


def test_deployments_are_listed_newest_first_with_the_runs_of_each_version(
    client: testclient.TestClient, ctx: Context, versions: None
) -> None:
    start_runs(client, 1)
    finish(ctx, 1, runs.Status.SUCCESSFUL)
    canary(client, 2, 50)
    start_runs(client, 4)
    finish(ctx, 2, runs.Status.SUCCESSFUL)
    finish(ctx, 3, runs.Status.FAILED)
    finish(ctx, 5, runs.Status.SUCCESSFUL)

    first = ok(client.get(DEPLOYMENTS, params={"limit": 1}))
    rest = ok(client.get(DEPLOYMENTS, params={"limit": 1, "cursor": first["next_cursor"]}))

    [newest] = first["items"]
    assert (newest["id"], newest["kind"], newest["routed"], newest["first_run"]) == (
        2,
        "canary",
        4,
        2,
    )
    assert newest["tallies"] == [
        {
            "version": 1,
            "runs": 2,
            "successful": 1,
            "failed": 0,
            "cancelled": 0,
            "success_rate": 100.0,
        },
        {
            "version": 2,
            "runs": 2,
            "successful": 1,
            "failed": 1,
            "cancelled": 0,
            "success_rate": 50.0,
        },
    ]
    [oldest] = rest["items"]
    assert (oldest["id"], oldest["kind"], oldest["to_version"]) == (1, "deploy", 1)
    assert [(t["version"], t["runs"]) for t in oldest["tallies"]] == [(1, 1)]
    assert rest["next_cursor"] is None


def test_the_deployments_of_a_missing_pipeline_are_not_found(
    client: testclient.TestClient,
) -> None:
    assert_problem(client.get(f"{PIPELINES}/nope/deployments"), 404, "not_found", field="pipeline")


# the audit history ---------------------------------------------------------------------------


def test_history_lists_operations_newest_first_filtered_by_kind(
    client: testclient.TestClient, versions: None
) -> None:
    ok(client.post(f"{API}/namespaces", json={"name": "team"}), 201)
    canary(client)
    ok(client.post(ABORT, json={}))

    everything = ok(client.get(HISTORY))["items"]
    deploys = ok(client.get(HISTORY, params={"kind": "pipeline.deploy"}))["items"]
    families = ok(client.get(HISTORY, params=[("kind", "pipeline"), ("kind", "namespace")]))

    assert [r["kind"] for r in everything] == [
        "pipeline.abort",
        "pipeline.deploy",
        "namespace.create",
        "version.register",
        "version.register",
        "pipeline.deploy",
        "version.register",
    ]
    assert [r["id"] for r in everything] == sorted((r["id"] for r in everything), reverse=True)
    assert [r["detail"]["kind"] for r in deploys] == ["canary", "deploy"]
    assert [r["kind"] for r in families["items"]] == [
        "pipeline.abort",
        "pipeline.deploy",
        "namespace.create",
        "pipeline.deploy",
    ]
    newest = everything[0]
    assert (newest["target"], newest["actor"], newest["outcome"], newest["error"]) == (
        "default/hello",
        "anonymous",
        "succeeded",
        None,
    )
    assert newest["finished"] is not None


def test_history_records_a_refused_operation_as_failed(
    client: testclient.TestClient, versions: None
) -> None:
    response = client.post(DEPLOYMENTS, json={"version": 1})
    problem = assert_problem(response, 409, "failed_precondition", field="version")

    [record] = ok(client.get(HISTORY, params={"kind": "pipeline.deploy", "limit": 1}))["items"]

    assert (record["outcome"], record["error"]) == ("failed", problem["detail"])


def test_history_is_filtered_by_since_and_until(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    after_hello = datetime.datetime.now(datetime.UTC)
    ok(client.post(f"{API}/namespaces", json={"name": "team"}), 201)

    since = ok(client.get(HISTORY, params={"since": after_hello.isoformat()}))["items"]
    until = ok(client.get(HISTORY, params={"until": after_hello.isoformat()}))["items"]
    naive = after_hello.replace(tzinfo=None).isoformat()  # a time without a zone is UTC
    since_naive = ok(client.get(HISTORY, params={"since": naive}))["items"]

    assert [r["kind"] for r in since] == ["namespace.create"]
    assert [r["kind"] for r in until] == ["pipeline.deploy", "version.register"]
    assert since_naive == since


def test_history_until_must_be_later_than_since(client: testclient.TestClient) -> None:
    at = "2026-03-01T12:00:00Z"

    response = client.get(HISTORY, params={"since": at, "until": at})

    assert_problem(response, 422, "invalid_argument", field="until")


def test_history_with_a_time_that_is_not_one_names_the_parameter(
    client: testclient.TestClient,
) -> None:
    response = client.get(HISTORY, params={"since": "yesterday"})

    assert_problem(response, 422, "invalid_argument", field="since")


# diff ----------------------------------------------------------------------------------------


def test_diff_compares_two_versions_as_a_deploy_would(
    client: testclient.TestClient, versions: None
) -> None:
    forward = ok(client.get(f"{HELLO}/diff", params={"from": 1, "to": 3}))
    backward = ok(client.get(f"{HELLO}/diff", params={"from": 3, "to": 2}))

    assert (forward["action"], forward["from_version"], forward["to_version"]) == (
        "upgrade",
        1,
        3,
    )
    assert [(t["task"], t["kind"]) for t in forward["tasks"]] == [("ship", "added")]
    assert forward["settings"] == [{"field": "parallelism", "before": None, "after": 2}]
    assert (backward["action"], backward["counts"]["removed"]) == ("rollback", 1)
    assert ok(client.get(HELLO))["live_version"] == 1


def test_diff_of_a_missing_version_is_not_found(
    client: testclient.TestClient, versions: None
) -> None:
    response = client.get(f"{HELLO}/diff", params={"from": 1, "to": 9})

    assert_problem(response, 404, "not_found", field="version")


@pytest.mark.parametrize(("params", "field"), [({"from": 0, "to": 1}, "from"), ({"from": 1}, "to")])
def test_diff_needs_two_version_numbers(
    client: testclient.TestClient, versions: None, params: dict[str, int], field: str
) -> None:
    response = client.get(f"{HELLO}/diff", params=params)

    assert_problem(response, 422, "invalid_argument", field=field)


# bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 2, "canary": 0}, "canary"),
        ({"version": 2, "canary": 100}, "canary"),
        ({"version": 2, "auto_abort": {"max_failure_rate": 10, "window": 5}}, "auto_abort"),
        (
            {"version": 2, "canary": 10, "auto_abort": {"max_failure_rate": 100, "window": 5}},
            "auto_abort.max_failure_rate",
        ),
        ({"version": 2, "canary": 10, "auto_abort": {"window": 5}}, "auto_abort.max_failure_rate"),
        ({"version": 2, "bogus": True}, "bogus"),
        ({"version": 0}, "version"),
        ({}, "version"),
    ],
)
def test_a_bad_deploy_request_names_the_field_and_writes_nothing(
    client: testclient.TestClient, versions: None, body: dict[str, Any], field: str
) -> None:
    before = state(client)

    response = client.post(DEPLOYMENTS, json=body)

    assert_problem(response, 422, "invalid_argument", field=field)
    assert state(client) == before


def test_a_bad_canary_request_names_the_field(
    client: testclient.TestClient, versions: None
) -> None:
    canary(client)

    response = client.post(PROMOTE, json={"candidate": 2, "force": True})

    assert_problem(response, 422, "invalid_argument", field="force")
    assert ok(client.get(HELLO))["canary"] is not None
