"""Errors as problem documents: one table from Hostler's error categories to HTTP statuses.

An extension raises the errors of ``hostler.core.errors`` (``InvalidArgument``, ``NotFound``,
``Unauthenticated``, ...); the SDK answers them as problem documents shaped as the Hostler API's,
with the same statuses (``hostler.core.errors.HTTP``, as the API's).
"""

from __future__ import annotations

import pydantic_core

from hostler.core import errors
from hostler.sdk.extension import contract

STATUS = errors.HTTP
"""Error category → (HTTP status, title): ``hostler.core.errors.HTTP``."""


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    field: str | None = None,
    hint: str | None = None,
) -> contract.Problem:
    """Return the problem document of an error."""
    return contract.Problem(
        type=contract.PROBLEM_TYPE_BASE + code,
        title=title,
        status=status,
        detail=detail,
        code=code,
        field=field,
        hint=hint,
    )


def of(exc: errors.HostlerError) -> contract.Problem:
    """Return the problem document of a Hostler error, its status from ``STATUS``."""
    status, title = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    return problem(status, title, exc.message, exc.code, field=exc.field, hint=exc.hint)


def field_path(loc: tuple[int | str, ...]) -> str:
    """Return the ``loc`` of a pydantic error as a dotted path, list indexes in brackets."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def what(error: pydantic_core.ErrorDetails) -> str:
    """Return what a pydantic error says is wrong, as the end of a sentence."""
    kind = error.get("type")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    msg = str(error.get("msg", "is not valid"))
    return msg[:1].lower() + msg[1:]
