"""The app factory: a FastAPI application over a use-case context, with its OpenAPI document.

Bootstrap builds the Context (store, log store, engine doorbell) and owns its lifetime; ``create``
only wires HTTP to it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import fastapi
from fastapi import routing

from hostler import config
from hostler.api import access, errors, limits
from hostler.api.routes import (
    deployments,
    events,
    extensions,
    health,
    history,
    namespaces,
    objects,
    pipelines,
    runs,
    secrets,
    subscriptions,
    tasks,
    tokens,
)
from hostler.services.context import Context

PREFIX = "/api/v1"
_REF = "#/components/schemas/"

Lifespan = Callable[[fastapi.FastAPI], AbstractAsyncContextManager[None]]

_ROUTERS = (
    health.router,
    namespaces.router,
    pipelines.router,
    deployments.router,
    runs.router,
    tasks.router,
    events.router,
    history.router,
    secrets.router,
    objects.router,
    subscriptions.router,
    extensions.router,
    tokens.router,
)


def _operation_id(route: routing.APIRoute) -> str:
    return route.name


class _App(fastapi.FastAPI):
    """FastAPI with Hostler's additions to the OpenAPI document."""

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI document, built once."""
        if self.openapi_schema is not None:
            return self.openapi_schema
        document = super().openapi()
        _add_body_schemas(document)
        _problems_as_problem_json(document)
        _drop_unused_schemas(document)
        return document


def _add_body_schemas(document: dict[str, Any]) -> None:
    # Body routes read their body through limits.JSONBody, which FastAPI cannot see; the routes'
    # openapi_extra refers to these schemas by name.
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in sorted(limits.JSONBody.models.items()):
        schema = model.model_json_schema(ref_template=_REF + "{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            components.setdefault(def_name, definition)
        components[name] = schema


def _problems_as_problem_json(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if status[:1] in "45" and "application/json" in content:
                    content[errors.MEDIA_TYPE] = content.pop("application/json")


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    # Pydantic defines the core enums that the wire models document under their own names
    # (schemas.RunState, ...); left in, client generators would emit classes nobody uses.
    components = document.get("components", {}).get("schemas", {})
    used: set[str] = set()
    todo = [document.get("paths", {})]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF):
                name = ref.removeprefix(_REF)
                if name not in used and name in components:
                    used.add(name)
                    todo.append(components[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    for name in set(components) - used:
        del components[name]


def create(
    ctx: Context, settings: config.Settings, *, lifespan: Lifespan | None = None
) -> fastapi.FastAPI:
    """Return the API application serving ``ctx`` under ``/api/v1``.

    ``lifespan`` (from bootstrap) starts and stops what the app needs around it, such as the
    engine; the app itself opens nothing.
    """
    app = _App(
        title="Hostler",
        summary="Runs pipelines of containerized tasks.",
        version=importlib.metadata.version("hostler"),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        dependencies=[fastapi.Depends(access.authorize)],
    )
    app.state.context = ctx
    app.state.settings = settings
    errors.install(app)
    for router in _ROUTERS:
        app.include_router(router, prefix=PREFIX)
    return app
