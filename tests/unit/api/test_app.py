"""The app factory: health, the lifespan it is given, the documentation routes."""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import AsyncIterator

import fastapi
from fastapi import testclient

from hostler import config
from hostler.api import app
from hostler.services.context import Context

from .conftest import API


def test_health_says_ok_with_the_version(client: testclient.TestClient) -> None:
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": importlib.metadata.version("hostler")}


def test_create_runs_the_lifespan_it_is_given(ctx: Context, settings: config.Settings) -> None:
    seen: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: fastapi.FastAPI) -> AsyncIterator[None]:
        seen.append("start")
        yield
        seen.append("stop")

    with testclient.TestClient(app.create(ctx, settings, lifespan=lifespan)) as client:
        assert seen == ["start"]
        assert client.get(f"{API}/health").status_code == 200
    assert seen == ["start", "stop"]


def test_openapi_document_and_docs_are_served_under_the_prefix(
    client: testclient.TestClient,
) -> None:
    document = client.get(f"{API}/openapi.json")
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "Hostler"
    assert document.json()["info"]["version"] == importlib.metadata.version("hostler")
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
