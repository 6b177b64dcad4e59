"""Namespace routes: list with pagination, create (created, unchanged, conflict), get."""

from __future__ import annotations

from fastapi import testclient

from .conftest import ANY, API, assert_problem


def test_list_namespaces_starts_with_default(client: testclient.TestClient) -> None:
    response = client.get(f"{API}/namespaces")
    assert response.status_code == 200
    body = response.json()
    assert [n["name"] for n in body["items"]] == ["default"]
    assert body["next_cursor"] is None


def test_create_namespace_answers_201_created(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces", json={"name": "team-a", "description": "A"})
    assert response.status_code == 201
    body = response.json()
    assert body["result"] == "created"
    assert body["namespace"]["name"] == "team-a"
    assert body["namespace"]["description"] == "A"
    assert body["namespace"]["created"].endswith("Z")


def test_create_identical_namespace_answers_200_unchanged(client: testclient.TestClient) -> None:
    client.post(f"{API}/namespaces", json={"name": "team-a", "description": "A"})
    response = client.post(f"{API}/namespaces", json={"name": "team-a", "description": "A"})
    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"


def test_create_namespace_with_another_description_is_a_conflict(
    client: testclient.TestClient,
) -> None:
    client.post(f"{API}/namespaces", json={"name": "team-a", "description": "A"})
    response = client.post(f"{API}/namespaces", json={"name": "team-a", "description": "B"})
    assert_problem(response, 409, "already_exists", field="name")


def test_create_namespace_with_invalid_name_is_refused(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces", json={"name": "Team A"})
    body = assert_problem(response, 422, "invalid_argument", field="name")
    assert "'Team A'" in body["detail"]
    assert client.get(f"{API}/namespaces").json()["items"][-1]["name"] == "default"


def test_create_namespace_without_name_names_the_field(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces", json={"description": "x"})
    body = assert_problem(response, 422, "invalid_argument", field="name")
    assert body["detail"] == "field 'name': is required"


def test_create_namespace_with_unknown_field_names_it(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces", json={"name": "a", "colour": "red"})
    body = assert_problem(response, 422, "invalid_argument", field="colour")
    assert body["detail"] == "field 'colour': is not a known field"


def test_get_namespace(client: testclient.TestClient) -> None:
    response = client.get(f"{API}/namespaces/default")
    assert response.status_code == 200
    assert response.json()["name"] == "default"


def test_get_unknown_namespace_names_it(client: testclient.TestClient) -> None:
    response = client.get(f"{API}/namespaces/nope")
    body = assert_problem(response, 404, "not_found", field=ANY)
    assert body["detail"].startswith("namespace 'nope'")


def test_list_namespaces_pages_with_a_cursor(client: testclient.TestClient) -> None:
    for name in ["a1", "a2", "a3", "a4"]:
        assert client.post(f"{API}/namespaces", json={"name": name}).status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        body = client.get(f"{API}/namespaces", params=params).json()
        pages += 1
        assert len(body["items"]) <= 2
        seen += [n["name"] for n in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["a1", "a2", "a3", "a4", "default"]
    assert pages == 3


def test_list_with_a_bad_cursor_names_the_cursor(client: testclient.TestClient) -> None:
    response = client.get(f"{API}/namespaces", params={"cursor": "not-a-cursor"})
    assert_problem(response, 422, "invalid_argument", field="cursor")


def test_list_with_limit_out_of_range_names_the_limit(client: testclient.TestClient) -> None:
    for limit in (0, 501, "many"):
        response = client.get(f"{API}/namespaces", params={"limit": limit})
        body = assert_problem(response, 422, "invalid_argument", field="limit")
        assert body["detail"].startswith("query parameter 'limit': ")
