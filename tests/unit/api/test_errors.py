"""Errors on the wire: body limits, malformed bodies, unknown routes, unexpected failures."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import testclient

from hostler import config
from hostler.api import app
from hostler.core import errors
from hostler.services.context import Context

from .conftest import API, BODY_LIMIT, PIPELINE_LIMIT, PIPELINES, assert_problem, pipeline


def padded(size: int) -> dict[str, Any]:
    """Return a pipeline request body of at least ``size`` bytes as JSON."""
    config = pipeline(description="x" * size)
    return {"config": config}


def test_pipeline_body_over_the_limit_is_413_and_nothing_is_stored(
    client: testclient.TestClient,
) -> None:
    response = client.post(PIPELINES, json=padded(PIPELINE_LIMIT))
    body = assert_problem(response, 413, "too_large")
    assert body["detail"] == f"request body: larger than the limit of {PIPELINE_LIMIT} bytes"
    assert "server.max_pipeline_bytes" in body["hint"]
    assert client.get(PIPELINES).json()["items"] == []


def test_namespace_body_over_the_limit_is_413_and_nothing_is_stored(
    client: testclient.TestClient,
) -> None:
    response = client.post(f"{API}/namespaces", json={"name": "big", "description": "x" * 2000})
    body = assert_problem(response, 413, "too_large")
    assert body["detail"] == f"request body: larger than the limit of {BODY_LIMIT} bytes"
    assert client.get(f"{API}/namespaces/big").status_code == 404


def test_body_limit_applies_without_a_content_length(client: testclient.TestClient) -> None:
    data = json.dumps(padded(PIPELINE_LIMIT)).encode()
    chunks = iter([data[:1000], data[1000:]])
    response = client.post(PIPELINES, content=chunks, headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "too_large")
    assert client.get(PIPELINES).json()["items"] == []


def test_pipeline_routes_have_their_own_larger_limit(client: testclient.TestClient) -> None:
    body = padded(BODY_LIMIT)
    assert BODY_LIMIT < len(json.dumps(body)) < PIPELINE_LIMIT
    assert client.post(PIPELINES, json=body).status_code == 201


def test_malformed_json_is_422_with_a_clear_message(client: testclient.TestClient) -> None:
    response = client.post(
        f"{API}/namespaces", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "invalid_argument")
    assert body["detail"].startswith("request body: not valid JSON (")


def test_json_that_is_not_an_object_is_422(client: testclient.TestClient) -> None:
    response = client.post(f"{API}/namespaces", json=["default"])
    body = assert_problem(response, 422, "invalid_argument")
    assert body["detail"] == "request body: must be a JSON object, not list"


def test_unknown_route_is_a_404_problem(client: testclient.TestClient) -> None:
    body = assert_problem(client.get(f"{API}/nothing"), 404, "not_found")
    assert body["detail"] == f"route 'GET {API}/nothing': not found"


def test_wrong_method_is_a_405_problem(client: testclient.TestClient) -> None:
    response = client.delete(f"{API}/namespaces")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


class _Broken:
    """A store whose namespace list fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def list_namespaces(self, after: str | None, limit: int) -> list[Any]:
        raise self.error


@pytest.fixture
def broken(ctx: Context, settings: config.Settings) -> Iterator[Any]:
    """Return a function that makes a client whose store fails with an error."""
    clients: list[testclient.TestClient] = []

    def make(error: Exception) -> testclient.TestClient:
        bad = Context(store=_Broken(error), logs=ctx.logs)  # type: ignore[arg-type]
        made = testclient.TestClient(app.create(bad, settings))
        clients.append(made)
        return made

    yield make
    for made in clients:
        made.close()


def test_unexpected_error_is_a_500_problem_logged_with_its_traceback(
    broken: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = broken(RuntimeError("secret detail"))
    with caplog.at_level(logging.ERROR, logger="hostler.api.errors"):
        response = client.get(f"{API}/namespaces")
    body = assert_problem(response, 500, "internal")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert body["hint"]
    [record] = [r for r in caplog.records if r.name == "hostler.api.errors"]
    assert record.getMessage() == "request failed with an unexpected error"
    assert record.exc_info is not None
    assert record.__dict__["path"] == f"{API}/namespaces"


def test_unavailable_database_is_a_503_problem(broken: Any) -> None:
    client = broken(errors.Unavailable("database: locked", hint="retry"))
    body = assert_problem(client.get(f"{API}/namespaces"), 503, "unavailable")
    assert body["detail"] == "database: locked"
    assert body["hint"] == "retry"
    assert_problem(client.get(f"{API}/health"), 503, "unavailable")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFound("x"), 404),
        (errors.AlreadyExists("x"), 409),
        (errors.InvalidArgument("x"), 422),
        (errors.TooLarge("x"), 413),
        (errors.FailedPrecondition("x"), 409),
        (errors.Conflict("x"), 409),
        (errors.PermissionDenied("x"), 403),
        (errors.Unauthenticated("x"), 401),
        (errors.Unavailable("x"), 503),
        (errors.Internal("x"), 500),
    ],
)
def test_each_error_category_has_its_status(
    broken: Any, error: errors.HostlerError, status: int
) -> None:
    response = broken(error).get(f"{API}/namespaces")
    assert_problem(response, status, error.code)
