"""Pipeline and version routes: up (created, deployed, unchanged), register, list, get, errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import testclient

from .conftest import ANY, API, PIPELINES, assert_problem, pipeline


def test_up_creates_a_live_version(client: testclient.TestClient) -> None:
    response = client.post(PIPELINES, json={"config": pipeline()})
    assert response.status_code == 201
    body = response.json()
    assert body["result"] == "created"
    assert body["pipeline"]["id"] == "hello"
    assert body["pipeline"]["namespace"] == "default"
    assert body["pipeline"]["live_version"] == 1
    assert body["pipeline"]["description"] == "Says hello"
    version = body["version"]
    assert version["version"] == 1
    assert version["digest"].startswith("sha256:")
    assert version["config"]["tasks"][1]["depends_on"] == {"fetch": "success"}


def test_up_with_identical_content_in_another_order_is_unchanged(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    reordered = dict(reversed(list(pipeline().items())))
    response = client.post(PIPELINES, json={"config": reordered})
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "unchanged"
    assert body["version"]["digest"] == hello["version"]["digest"]
    versions = client.get(f"{PIPELINES}/hello/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]


def test_up_of_a_registered_version_deploys_it(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    changed = pipeline(description="Says hello twice")
    registered = client.post(f"{PIPELINES}/hello/versions", json={"config": changed})
    assert registered.status_code == 201
    assert registered.json()["result"] == "created"
    assert registered.json()["version"]["version"] == 2
    assert client.get(f"{PIPELINES}/hello").json()["live_version"] == 1

    response = client.post(PIPELINES, json={"config": changed})
    assert response.status_code == 200
    assert response.json()["result"] == "deployed"
    assert response.json()["pipeline"]["live_version"] == 2


def test_register_identical_version_is_unchanged(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.post(f"{PIPELINES}/hello/versions", json={"config": pipeline()})
    assert response.status_code == 200
    assert response.json() == {"version": hello["version"], "result": "unchanged"}


def test_register_version_of_another_pipeline_is_refused(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    response = client.post(f"{PIPELINES}/hello/versions", json={"config": pipeline("other")})
    assert_problem(response, 422, "invalid_argument", field="id")
    assert client.get(f"{PIPELINES}/other").status_code == 404


def test_get_pipeline(client: testclient.TestClient, hello: dict[str, Any]) -> None:
    response = client.get(f"{PIPELINES}/hello")
    assert response.status_code == 200
    assert response.json() == hello["pipeline"]


def test_get_version(client: testclient.TestClient, hello: dict[str, Any]) -> None:
    response = client.get(f"{PIPELINES}/hello/versions/1")
    assert response.status_code == 200
    assert response.json() == hello["version"]


def test_list_pipelines_pages_with_a_cursor(client: testclient.TestClient) -> None:
    for name in ["p1", "p2", "p3"]:
        assert client.post(PIPELINES, json={"config": pipeline(name)}).status_code == 201
    first = client.get(PIPELINES, params={"limit": 2}).json()
    assert [p["id"] for p in first["items"]] == ["p1", "p2"]
    second = client.get(PIPELINES, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [p["id"] for p in second["items"]] == ["p3"]
    assert second["next_cursor"] is None


def test_list_versions_newest_first_with_a_cursor(client: testclient.TestClient) -> None:
    for n in range(3):
        client.post(PIPELINES, json={"config": pipeline(description=f"take {n}")})
    first = client.get(f"{PIPELINES}/hello/versions", params={"limit": 2}).json()
    assert [v["version"] for v in first["items"]] == [3, 2]
    url = f"{PIPELINES}/hello/versions"
    second = client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [v["version"] for v in second["items"]] == [1]
    assert second["next_cursor"] is None


def test_list_versions_with_a_cursor_of_another_kind_names_the_cursor(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    client.post(f"{API}/namespaces", json={"name": "zz"})
    name_cursor = client.get(f"{API}/namespaces", params={"limit": 1}).json()["next_cursor"]
    response = client.get(f"{PIPELINES}/hello/versions", params={"cursor": name_cursor})
    assert_problem(response, 422, "invalid_argument", field="cursor")


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        (f"{API}/namespaces/nope/pipelines", "namespace 'nope'"),
        (f"{API}/namespaces/nope/pipelines/hello", "namespace 'nope'"),
        (f"{PIPELINES}/nope", "pipeline 'default/nope'"),
        (f"{PIPELINES}/nope/versions", "pipeline 'default/nope'"),
        (f"{PIPELINES}/nope/versions/1", "pipeline 'default/nope'"),
        (f"{PIPELINES}/hello/versions/9", "version"),
    ],
)
def test_missing_things_are_named(
    client: testclient.TestClient, hello: dict[str, Any], url: str, missing: str
) -> None:
    body = assert_problem(client.get(url), 404, "not_found", field=ANY)
    assert body["detail"].startswith(missing), body["detail"]


def test_up_in_a_missing_namespace_names_it(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces/nope/pipelines", json={"config": pipeline()})
    body = assert_problem(response, 404, "not_found", field=ANY)
    assert body["detail"] == "namespace 'nope': not found"


def _tasks(*tasks: dict[str, Any]) -> list[dict[str, Any]]:
    return list(tasks)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        pytest.param(
            pipeline(
                "bad",
                tasks=_tasks(
                    {"id": "a", "image": "alpine", "depends_on": {"b": "success"}},
                    {"id": "b", "image": "alpine", "depends_on": {"a": "success"}},
                ),
            ),
            "tasks[0].depends_on",
            id="cycle",
        ),
        pytest.param(
            pipeline(
                "bad",
                tasks=_tasks(
                    {"id": "a", "image": "alpine"},
                    {"id": "b", "image": "alpine", "depends_on": {"nope": "success"}},
                ),
            ),
            "tasks[1].depends_on.nope",
            id="unknown-dependency",
        ),
        pytest.param(
            pipeline(
                "bad", tasks=_tasks({"id": "a", "image": "alpine"}, {"id": "a", "image": "alpine"})
            ),
            "tasks[1].id",
            id="duplicate-task-id",
        ),
        pytest.param(
            pipeline("bad", tasks=_tasks({"id": "Not An Id", "image": "alpine"})),
            "tasks[0].id",
            id="invalid-task-identifier",
        ),
        pytest.param(pipeline("Bad Id"), "id", id="invalid-pipeline-identifier"),
        pytest.param(pipeline("bad", tasks=_tasks({"id": "a"})), "tasks[0].image", id="no-image"),
    ],
)
def test_invalid_configuration_is_refused_and_nothing_stored(
    client: testclient.TestClient, config: dict[str, Any], field: str
) -> None:
    response = client.post(PIPELINES, json={"config": config})
    body = assert_problem(response, 422, "invalid_argument", field=field)
    assert body["hint"]
    assert client.get(PIPELINES).json()["items"] == []
    assert client.get(f"{PIPELINES}/bad/versions").status_code == 404


def test_invalid_version_leaves_the_versions_as_they_were(
    client: testclient.TestClient, hello: dict[str, Any]
) -> None:
    bad = pipeline(tasks=_tasks({"id": "a", "image": "alpine"}, {"id": "a", "image": "alpine"}))
    response = client.post(f"{PIPELINES}/hello/versions", json={"config": bad})
    assert_problem(response, 422, "invalid_argument", field="tasks[1].id")
    versions = client.get(f"{PIPELINES}/hello/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]


def test_up_without_config_names_the_field(client: testclient.TestClient) -> None:
    response = client.post(PIPELINES, json={"pipeline": pipeline()})
    assert_problem(response, 422, "invalid_argument", field="config")


def test_up_with_a_config_that_is_not_an_object_names_the_field(
    client: testclient.TestClient,
) -> None:
    response = client.post(PIPELINES, json={"config": ["hello"]})
    assert_problem(response, 422, "invalid_argument", field="config")
