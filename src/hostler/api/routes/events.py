"""Routes for the event log: list events page by page, or follow them as Server-Sent Events."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import deps, errors, eventstream, logstream, schemas
from hostler.services import events

router = fastapi.APIRouter(tags=["events"])

Kinds = Annotated[
    list[str] | None,
    fastapi.Query(
        description="Only events of these kinds: a kind such as run.complete, or a family such "
        "as task.*; repeat for several."
    ),
]
Namespace = Annotated[str | None, fastapi.Query(description="Only events in this namespace.")]
Pipeline = Annotated[str | None, fastapi.Query(description="Only events of pipelines of this id.")]
Run = Annotated[int | None, fastapi.Query(ge=1, description="Only events of runs of this number.")]

_STREAM_RESPONSE = {
    "description": (
        "A `text/event-stream` that never ends by itself: the events after `after` (or "
        "`Last-Event-ID`) first, then new ones as they are recorded. Each event has `id` = the "
        "event's id, `event` = its kind and `data` = the Event JSON; a keep-alive comment comes "
        "every 15 s while nothing else does."
    ),
    "content": {logstream.MEDIA_TYPE: {"schema": {"type": "string"}}},
}


@router.get("/events", responses=errors.responses())
def list_events(
    ctx: deps.ContextDep,
    kind: Kinds = None,
    namespace: Namespace = None,
    pipeline: Pipeline = None,
    run: Run = None,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Event]:
    """List events, oldest first; every filter given must match."""
    selected = events.select(kind or (), namespace, pipeline, run)
    page = events.list_(ctx, selected, cursor, limit)
    return schemas.Page[schemas.Event].of(page, schemas.Event.from_entity)


@router.get(
    "/events/stream",
    response_class=fastapi.responses.StreamingResponse,
    responses={200: _STREAM_RESPONSE, **errors.responses()},
)
def stream_events(
    ctx: deps.ContextDep,
    request: fastapi.Request,
    kind: Kinds = None,
    namespace: Namespace = None,
    pipeline: Pipeline = None,
    run: Run = None,
    after: Annotated[
        int | None,
        fastapi.Query(ge=0, description="Start after this event id; by default with the oldest."),
    ] = None,
    last_event_id: Annotated[
        int | None,
        fastapi.Header(
            alias="Last-Event-ID", ge=0, description="Resume after this event id (overrides after)."
        ),
    ] = None,
) -> fastapi.Response:
    """Follow events as Server-Sent Events, with the same filters as the list."""
    selected = events.select(kind or (), namespace, pipeline, run)
    if last_event_id is not None:
        after = last_event_id
    return eventstream.response(ctx, selected, after or 0, request)
