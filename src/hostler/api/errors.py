"""Errors on the wire: error categories as HTTP statuses, and problem+json responses.

Every error the API answers is an RFC 9457 problem document (``application/problem+json``) with
Hostler's stable ``code``, the failing ``field`` and a ``hint``. Categories of
``hostler.core.errors`` map to statuses in ``hostler.core.errors.HTTP`` and nowhere else: the
extension SDK answers with the same table.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import fastapi
import pydantic
from fastapi import exceptions as fastapi_exceptions
from starlette import exceptions as starlette_exceptions
from starlette import requests as starlette_requests
from starlette import types as asgi

from hostler.core import errors

_log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://hostler.dev/problems/"

STATUS = errors.HTTP
"""Error category → (HTTP status, title): ``hostler.core.errors.HTTP``."""

_DESCRIPTIONS = {
    401: "Unauthenticated: the request did not say who sent it, or said it wrongly.",
    403: "Permission denied: the caller may not do this.",
    404: "Not found: the problem names what is missing (the parent, when that is what is missing).",
    409: "Conflict: the thing exists already, changed meanwhile, or is not in a state for this.",
    413: "Too large: the request body is larger than this route's limit.",
    422: "Invalid argument: an input breaks a rule; `field` names it.",
    500: "Internal error: a bug in Hostler; the server log has the details.",
    503: "Unavailable: a dependency (the database) cannot be reached right now; retry later.",
}


class Problem(pydantic.BaseModel):
    """An error answer: RFC 9457 problem details with Hostler's stable ``code``."""

    type: str = pydantic.Field(description="A URI naming the problem: its code under the base.")
    title: str = pydantic.Field(description="The error category in words.")
    status: int = pydantic.Field(description="The HTTP status code.")
    detail: str = pydantic.Field(description="What went wrong, subject first.")
    code: str = pydantic.Field(description="Stable machine-readable error code.")
    field: str | None = pydantic.Field(None, description="The failing input field, if one is.")
    hint: str | None = pydantic.Field(None, description="What to do about it, if known.")


def responses(*statuses: int, public: bool = False) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses=`` of a route: ``statuses`` plus 422, 500 and 503, and unless the
    route is ``public`` 401 and 403 (see ``api.access``), all problems."""
    wanted = sorted({*statuses, 422, 500, 503, *(() if public else (401, 403))})
    return {s: {"model": Problem, "description": _DESCRIPTIONS[s]} for s in wanted}


def status_of(exc: errors.HostlerError) -> tuple[int, str]:
    """Return the HTTP status and title for ``exc`` from ``STATUS``."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return STATUS[errors.HostlerError]  # pragma: no cover - HostlerError is in every MRO


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    field: str | None = None,
    hint: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> fastapi.responses.JSONResponse:
    """Return a problem+json response."""
    body = Problem(
        type=TYPE_BASE + code,
        title=title,
        status=status,
        detail=detail,
        code=code,
        field=field,
        hint=hint,
    )
    return fastapi.responses.JSONResponse(
        body.model_dump(mode="json"), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def from_error(exc: errors.HostlerError) -> fastapi.responses.JSONResponse:
    """Return the problem response for a Hostler error."""
    status, title = status_of(exc)
    return problem(status, title, exc.message, exc.code, field=exc.field, hint=exc.hint)


async def _hostler_error(
    request: starlette_requests.Request, exc: Exception
) -> fastapi.responses.Response:
    assert isinstance(exc, errors.HostlerError)
    status, _ = status_of(exc)
    extra = {"method": request.method, "path": request.url.path, "code": exc.code}
    if status >= 500 and status != 503:
        _log.error("request failed with an internal error", exc_info=exc, extra=extra)
    elif status == 503:
        _log.warning("request failed: dependency unavailable", extra=extra)
    return from_error(exc)


def field_path(loc: Sequence[int | str]) -> str:
    """Return ``loc`` of a validation error as a dotted path, list indexes in brackets."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_WHERE = {"body": "field", "query": "query parameter", "path": "path parameter", "header": "header"}


def _describe(error: Any) -> tuple[str | None, str]:
    loc = tuple(error.get("loc", ()))
    where, rest = (loc[0], loc[1:]) if loc and loc[0] in _WHERE else ("body", loc)
    field = field_path(rest)
    kind = error.get("type")
    if kind == "missing":
        what = "is required"
    elif kind == "extra_forbidden":
        what = "is not a known field"
    else:
        msg = str(error.get("msg", "is not valid"))
        what = msg[:1].lower() + msg[1:]
    if not field:
        return None, f"request body: {what}"
    return field, f"{_WHERE[str(where)]} '{field}': {what}"


async def _validation_error(
    request: starlette_requests.Request, exc: Exception
) -> fastapi.responses.Response:
    assert isinstance(exc, fastapi_exceptions.RequestValidationError)
    found = list(exc.errors())
    field, detail = _describe(found[0]) if found else (None, "request: not valid")
    if len(found) > 1:
        detail += f" (and {len(found) - 1} more)"
    return problem(422, "Invalid argument", detail, "invalid_argument", field=field)


async def _http_error(
    request: starlette_requests.Request, exc: Exception
) -> fastapi.responses.Response:
    assert isinstance(exc, starlette_exceptions.HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return problem(
            404,
            "Not found",
            f"route '{where}': not found",
            "not_found",
            hint="see /api/v1/docs for the routes",
        )
    if exc.status_code == 405:
        return problem(
            405,
            "Method not allowed",
            f"route '{where}': method not allowed",
            "method_not_allowed",
            headers=exc.headers,
        )
    title = http.HTTPStatus(exc.status_code).phrase
    return problem(
        exc.status_code, title, f"request: {exc.detail}", "http_error", headers=exc.headers
    )


class Guard:
    """ASGI middleware that answers an unexpected exception with a 500 problem, logged once.

    It sits inside Starlette's ServerErrorMiddleware, which would re-raise to the server after its
    handler ran and so log the same failure twice.
    """

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        """Run the app; turn an exception raised before the response started into a 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: asgi.Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except starlette_requests.ClientDisconnect:
            return  # nobody is left to answer
        except Exception:
            if started:
                raise
            _log.exception(
                "request failed with an unexpected error",
                extra={"method": scope.get("method"), "path": scope.get("path")},
            )
            response = problem(
                500,
                "Internal error",
                "server: internal error",
                "internal",
                hint="this is a bug in Hostler; the server log has the details",
            )
            await response(scope, receive, send)


def install(app: fastapi.FastAPI) -> None:
    """Make ``app`` answer every error as a problem document."""
    app.add_exception_handler(errors.HostlerError, _hostler_error)
    app.add_exception_handler(fastapi_exceptions.RequestValidationError, _validation_error)
    app.add_exception_handler(starlette_exceptions.HTTPException, _http_error)
    app.add_middleware(Guard)
