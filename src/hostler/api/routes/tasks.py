"""Routes for task executions: list a run's tasks, get one, read or follow its log."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import deps, errors, logstream, schemas
from hostler.services import tasks

router = fastapi.APIRouter(tags=["tasks"])

_PREFIX = "/namespaces/{namespace}/pipelines/{pipeline}/runs/{run}/tasks"

Task = Annotated[str, fastapi.Path(description="The task's id within the pipeline.")]
Attempt = Annotated[
    int | None, fastapi.Query(ge=1, description="The attempt, from 1; the latest when absent.")
]

LOG_LIMIT = 1000
MAX_LOG_LIMIT = 10_000

_LOG_RESPONSE = {
    "description": (
        "The lines as JSON; with follow=true a `text/event-stream` of `event: line` events "
        "(`id` = offset, data = LogLine JSON), history from the offset first, then live lines, "
        'then one `event: end` with data `{"next_offset": n}`; keep-alive comments every 15 s.'
    ),
    "content": {logstream.MEDIA_TYPE: {"schema": {"type": "string"}}},
}


@router.get(_PREFIX, responses=errors.responses(404))
def list_tasks(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.TaskExecution]:
    """List the run's task executions, in pipeline order then attempt."""
    page = tasks.list_(ctx, namespace, pipeline, run, cursor, limit)
    return schemas.Page[schemas.TaskExecution].of(page, schemas.TaskExecution.from_entity)


@router.get(_PREFIX + "/{task}", responses=errors.responses(404))
def get_task(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    task: Task,
    attempt: Attempt = None,
) -> schemas.TaskExecution:
    """Return a task execution: the latest attempt unless ``attempt`` is given."""
    execution = tasks.get(ctx, namespace, pipeline, run, task, attempt)
    return schemas.TaskExecution.from_entity(execution)


@router.get(
    _PREFIX + "/{task}/logs",
    response_model=schemas.Log,
    responses={
        200: _LOG_RESPONSE,
        **errors.responses(404),
    },
)
def get_task_log(
    ctx: deps.ContextDep,
    request: fastapi.Request,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    task: Task,
    attempt: Attempt = None,
    offset: Annotated[int, fastapi.Query(ge=0, description="First line to return, from 0.")] = 0,
    limit: Annotated[
        int, fastapi.Query(ge=1, le=MAX_LOG_LIMIT, description="Most lines to return.")
    ] = LOG_LIMIT,
    follow: Annotated[
        bool, fastapi.Query(description="Stream the log as Server-Sent Events until it ends.")
    ] = False,
    last_event_id: Annotated[
        int | None,
        fastapi.Header(
            alias="Last-Event-ID", ge=0, description="Resume after this line (overrides offset)."
        ),
    ] = None,
) -> fastapi.Response | schemas.Log:
    """Read part of a task's log, or follow it live with ``follow=true``."""
    execution = tasks.get(ctx, namespace, pipeline, run, task, attempt)
    if last_event_id is not None:
        offset = last_event_id + 1
    if follow:
        return logstream.response(ctx, execution, offset, request)
    return schemas.Log.from_entity(offset, tasks.read_log(ctx, execution, offset, limit))
