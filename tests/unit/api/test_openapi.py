"""The OpenAPI document is the contract: every route documents every status it can return."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import testclient

from hostler.api import permissions

from .conftest import API

METHODS = {"get", "post", "put", "patch", "delete"}
BODY_ROUTES = {
    ("post", f"{API}/namespaces"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/versions"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/plan"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/deployments"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/canary/promote"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/canary/abort"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/subscriptions"),
    ("post", f"{API}/extensions/installed"),
    ("post", f"{API}/extensions/installed/{{name}}/update"),
    ("post", f"{API}/extensions/update"),
    ("post", f"{API}/tokens"),
    ("post", f"{API}/roles"),
    ("put", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/secrets/{{name}}"),
    ("put", f"{API}/secrets/{{name}}"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/runs"),
    ("post", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/runs/{{run}}/retry"),
}
RAW_BODY_ROUTES = {
    ("post", f"{API}/extensions/{{name}}/events/{{namespace}}/{{pipeline}}/{{trigger}}"),
    ("put", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/objects/{{key}}"),
    ("put", f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/runs/{{run}}/objects/{{key}}"),
}
"""Routes whose body is raw bytes (an object's content) rather than JSON."""


@pytest.fixture
def document(client: testclient.TestClient) -> dict[str, Any]:
    """Return the served OpenAPI document."""
    answer: dict[str, Any] = client.get(f"{API}/openapi.json").json()
    return answer


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (method, path, operation) for every operation of ``document``."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def problem_statuses(operation: dict[str, Any]) -> set[str]:
    """Return the statuses ``operation`` documents with a problem+json Problem body."""
    return {
        status
        for status, answer in operation["responses"].items()
        if answer.get("content", {}).get("application/problem+json", {}).get("schema")
        == {"$ref": "#/components/schemas/Problem"}
    }


def test_the_document_has_every_route(document: dict[str, Any]) -> None:
    assert len(operations(document)) == 69
    assert all(path.startswith(f"{API}/") for _, path, _ in operations(document))


def test_every_operation_documents_422_500_and_503(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert {"422", "500", "503"} <= problem_statuses(operation), (method, path)


def test_every_operation_says_what_it_needs_and_documents_401_and_403(
    document: dict[str, Any],
) -> None:
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    assert ids == set(permissions.ROUTES)
    for method, path, operation in operations(document):
        if permissions.ROUTES[operation["operationId"]] is permissions.PUBLIC:
            assert not {"401", "403"} & problem_statuses(operation), (method, path)
        else:
            assert {"401", "403"} <= problem_statuses(operation), (method, path)


def test_every_operation_with_a_path_parameter_documents_404(document: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in operations(document):
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in problem_statuses(operation), (method, path)
            checked += 1
    assert checked == 51


def test_every_body_route_documents_its_body_and_413(document: dict[str, Any]) -> None:
    with_body = {(m, p) for m, p, op in operations(document) if "requestBody" in op}
    assert with_body == BODY_ROUTES | RAW_BODY_ROUTES
    for method, path, operation in operations(document):
        if (method, path) in RAW_BODY_ROUTES:
            assert "413" in problem_statuses(operation), (method, path)
            assert {"application/octet-stream", "*/*"} & set(operation["requestBody"]["content"])
        elif (method, path) in BODY_ROUTES:
            assert "413" in problem_statuses(operation), (method, path)
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            name = schema["$ref"].removeprefix("#/components/schemas/")
            assert name in document["components"]["schemas"]


def test_errors_are_documented_only_as_problem_json(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert set(answer["content"]) == {"application/problem+json"}, (method, path)


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    for ref in refs:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_operation_ids_are_the_route_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(set(ids)) == len(ids)
    assert "start_run" in ids
    assert "get_task_log" in ids


def test_log_route_documents_json_and_event_stream(document: dict[str, Any]) -> None:
    path = f"{API}/namespaces/{{namespace}}/pipelines/{{pipeline}}/runs/{{run}}/tasks/{{task}}/logs"
    content = document["paths"][path]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/event-stream"}


def test_event_routes_document_a_page_and_an_event_stream(document: dict[str, Any]) -> None:
    listed = document["paths"][f"{API}/events"]["get"]
    page = listed["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/Page_Event_"}
    assert {p["name"] for p in listed["parameters"]} == {
        "kind",
        "namespace",
        "pipeline",
        "run",
        "cursor",
        "limit",
    }
    stream = document["paths"][f"{API}/events/stream"]["get"]
    assert set(stream["responses"]["200"]["content"]) == {"text/event-stream"}
    assert {"after", "Last-Event-ID", "kind"} <= {p["name"] for p in stream["parameters"]}
    kinds = document["components"]["schemas"]["Event"]["properties"]["kind"]["enum"]
    assert "task.complete" in kinds
