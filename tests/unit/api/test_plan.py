"""The plan route: what making a configuration live would change, with nothing written."""

from __future__ import annotations

from typing import Any

from fastapi import testclient

from .conftest import API, PIPELINES, assert_problem, pipeline

PLAN = f"{PIPELINES}/hello/plan"


def plan(client: testclient.TestClient, config: dict[str, Any]) -> dict[str, Any]:
    response = client.post(PLAN, json={"config": config})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_first_deploy_is_planned_without_creating_the_pipeline(
    client: testclient.TestClient,
) -> None:
    answer = plan(client, pipeline())

    assert (answer["action"], answer["from_version"], answer["to_version"]) == (
        "first_deploy",
        None,
        1,
    )
    assert answer["registered"] is False
    assert answer["counts"] == {"added": 2, "changed": 0, "removed": 0}
    assert answer["text"][0] == answer["headline"]
    assert client.get(f"{PIPELINES}/hello").status_code == 404


def test_the_live_configuration_is_up_to_date(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    answer = plan(client, pipeline())

    assert answer["action"] == "up_to_date"
    assert answer["registered"] is True
    assert answer["digest"] == hello["version"]["digest"]
    assert answer["text"] == ["Up-to-date."]


def test_a_change_is_planned_field_by_field_and_nothing_is_registered(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    changed = pipeline(parallelism=2)
    changed["tasks"][0] = {**changed["tasks"][0], "image": "busybox", "env": {"SECRET": "s3cr3t"}}
    changed["tasks"].append({"id": "ship", "image": "alpine"})

    answer = plan(client, changed)

    assert (answer["action"], answer["from_version"], answer["to_version"]) == ("upgrade", 1, 2)
    assert answer["headline"] == "Deploy hello v1 → v2: 1 task added, 1 changed, 0 removed"
    [fetch] = [t for t in answer["tasks"] if t["task"] == "fetch"]
    assert {f["field"]: (f["before"], f["after"]) for f in fetch["fields"]} == {
        "image": ("alpine", "busybox"),
        "env.SECRET": (None, "(set)"),
    }
    assert {(s["field"], s["before"], s["after"]) for s in answer["settings"]} == {
        ("parallelism", None, 2)
    }
    assert "s3cr3t" not in str(answer)
    versions = client.get(f"{PIPELINES}/hello/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]


def test_planning_a_configuration_of_another_pipeline_names_the_id(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.post(PLAN, json={"config": pipeline("other")})
    assert_problem(response, 422, "invalid_argument", field="id")


def test_planning_in_a_missing_namespace_names_it(client: testclient.TestClient) -> None:
    response = client.post(
        f"{API}/namespaces/nope/pipelines/hello/plan", json={"config": pipeline()}
    )
    body = assert_problem(response, 404, "not_found", field="namespace")
    assert "nope" in body["detail"]


def test_an_invalid_configuration_is_refused_naming_the_field(
    client: testclient.TestClient,
) -> None:
    bad = pipeline()
    bad["tasks"][1]["depends_on"] = {"nowhere": "success"}
    response = client.post(PLAN, json={"config": bad})
    assert_problem(response, 422, "invalid_argument", field="tasks[1].depends_on.nowhere")


def up(client: testclient.TestClient, config: dict[str, Any], **extra: Any) -> Any:
    return client.post(PIPELINES, json={"config": config, **extra})


def test_of_two_deploys_planned_against_the_same_live_version_exactly_one_succeeds(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    mine, theirs = pipeline(parallelism=2), pipeline(parallelism=3)
    assert plan(client, mine)["from_version"] == plan(client, theirs)["from_version"] == 1

    first = up(client, mine, planned_against=1)
    second = up(client, theirs, planned_against=1)

    assert first.status_code == 201, first.text
    body = assert_problem(second, 409, "conflict", field="planned_against")
    assert "the live version is v2 now, not v1 as planned" in body["detail"]
    assert "plan again" in body["hint"]
    assert client.get(f"{PIPELINES}/hello").json()["live_version"] == 2
    # Refused before anything was written: no version for the losing configuration.
    versions = client.get(f"{PIPELINES}/hello/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]


def test_a_first_deploy_planned_against_nothing_live_is_refused_once_something_is(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = up(client, pipeline(parallelism=5), planned_against=None)
    assert_problem(response, 409, "conflict", field="planned_against")


def test_a_deploy_without_a_plan_is_not_checked(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    assert up(client, pipeline(parallelism=5)).status_code == 201
