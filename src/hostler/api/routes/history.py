"""Routes for the audit history of admin operations."""

from __future__ import annotations

import datetime
from typing import Annotated

import fastapi

from hostler.api import deps, errors, schemas
from hostler.services import audit

router = fastapi.APIRouter(tags=["history"])

Kinds = Annotated[
    list[str] | None,
    fastapi.Query(
        description="Only records of these kinds: an operation such as pipeline.deploy, or a "
        "family such as pipeline; repeat for several."
    ),
]


@router.get("/history", responses=errors.responses())
def list_history(
    ctx: deps.ContextDep,
    since: Annotated[
        datetime.datetime | None,
        fastapi.Query(
            description="Only operations started at or after this time (RFC 3339; UTC "
            "without a zone)."
        ),
    ] = None,
    until: Annotated[
        datetime.datetime | None,
        fastapi.Query(
            description="Only operations started before this time (RFC 3339; UTC without a zone)."
        ),
    ] = None,
    kind: Kinds = None,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.HistoryRecord]:
    """List the audit history, newest first: every admin operation, who ran it, when, and how it
    ended (``incomplete`` when the server stopped before it finished)."""
    page = audit.list_(
        ctx,
        since=_utc(since),
        until=_utc(until),
        kinds=kind or (),
        cursor=cursor,
        limit=limit,
    )
    return schemas.Page[schemas.HistoryRecord].of(page, schemas.HistoryRecord.from_entity)


def _utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """Return ``value`` aware: a time given without a zone is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value
