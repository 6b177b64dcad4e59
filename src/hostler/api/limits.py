"""Per-route request body limits: read the body incrementally, refuse it once it is too large.

A body route takes its body through a ``JSONBody`` dependency instead of a FastAPI body parameter,
so nothing reads the body before the limit is in force. The JSON is then validated by a pydantic
model; failures become the same 422 problems as FastAPI's own validation errors.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Generic, Literal, TypeVar

import fastapi
import pydantic
from fastapi import exceptions as fastapi_exceptions

from hostler.api import deps
from hostler.core import errors

M = TypeVar("M", bound=pydantic.BaseModel)

Setting = Literal["max_body_bytes", "max_pipeline_bytes", "max_event_bytes"]
"""The ``server`` setting that holds a route's limit."""


def too_large(limit: int, setting: Setting) -> errors.TooLarge:
    """Return the error for a body larger than ``limit`` bytes."""
    return errors.TooLarge(
        f"request body: larger than the limit of {limit} bytes",
        hint=f"send less, or raise server.{setting} in the server's configuration",
    )


def declares_more(request: fastapi.Request, limit: int) -> bool:
    """Tell whether ``request`` says (in Content-Length) that its body is over ``limit`` bytes,
    so that it can be refused before a byte of it is read."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > limit


async def read(request: fastapi.Request, limit: int, setting: Setting) -> bytes:
    """Return the body of ``request``; TooLarge as soon as it passes ``limit`` bytes."""
    if declares_more(request, limit):
        raise too_large(limit, setting)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit, setting)
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> dict[str, Any]:
    """Return the JSON object in ``raw`` (an empty body is an empty object)."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise errors.InvalidArgument(
            f"request body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            hint="send a JSON object",
        ) from None
    except UnicodeDecodeError:
        raise errors.InvalidArgument(
            "request body: not valid JSON (not UTF-8)", hint="send a JSON object in UTF-8"
        ) from None
    if not isinstance(data, dict):
        raise errors.InvalidArgument(
            f"request body: must be a JSON object, not {type(data).__name__}",
            hint="send a JSON object",
        )
    return data


class JSONBody(Generic[M]):
    """A dependency that returns the request body as ``model``, read within a size limit.

    ``openapi`` is the route's ``openapi_extra``: it documents the body as ``model``.
    """

    models: ClassVar[dict[str, type[pydantic.BaseModel]]] = {}
    """Every body model in use, by name; the OpenAPI document lists their schemas."""

    def __init__(self, model: type[M], setting: Setting = "max_body_bytes") -> None:
        self.model = model
        self.setting: Setting = setting
        JSONBody.models[model.__name__] = model

    @property
    def openapi(self) -> dict[str, Any]:
        """Return the route's ``openapi_extra`` documenting the request body."""
        ref = {"$ref": f"#/components/schemas/{self.model.__name__}"}
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}

    async def __call__(self, request: fastapi.Request, settings: deps.SettingsDep) -> M:
        """Read, parse and validate the body of ``request``."""
        limit: int = getattr(settings.server, self.setting)
        data = parse(await read(request, limit, self.setting))
        try:
            return self.model.model_validate(data)
        except pydantic.ValidationError as exc:
            found = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            raise fastapi_exceptions.RequestValidationError(found) from None
