"""Routes for runs: start one, list, get, cancel, retry a task, delete its logs."""

from __future__ import annotations

from typing import Annotated

import fastapi

from hostler.api import access, deps, errors, limits, schemas
from hostler.services import runs, tokens

router = fastapi.APIRouter(tags=["runs"])

_BODY = limits.JSONBody(schemas.RunRequest)
_RETRY_BODY = limits.JSONBody(schemas.RetryRequest)

_PREFIX = "/namespaces/{namespace}/pipelines/{pipeline}/runs"


@router.get(_PREFIX, responses=errors.responses(404))
def list_runs(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    state: Annotated[
        list[schemas.RunState] | None,
        fastapi.Query(description="Only runs in these states; repeat for several."),
    ] = None,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Run]:
    """List the pipeline's runs, newest first."""
    page = runs.list_(ctx, namespace, pipeline, cursor, limit, state or ())
    return schemas.Page[schemas.Run].of(page, schemas.Run.from_entity)


@router.post(
    _PREFIX,
    status_code=201,
    responses=errors.responses(404, 409, 413),
    response_description="The run was created; it starts pending.",
    openapi_extra=_BODY.openapi,
)
def start_run(
    ctx: deps.ContextDep,
    caller: access.PrincipalDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    body: Annotated[schemas.RunRequest, fastapi.Depends(_BODY)],
) -> schemas.Run:
    """Start a run of the pipeline's live version (409 when no version is live). Its trigger
    says who started it: ``manual``, ``extension:NAME`` or ``run:NS/PIPELINE#RUN``."""
    trigger = tokens.trigger_of(caller)
    return schemas.Run.from_entity(runs.start(ctx, namespace, pipeline, body.variables, trigger))


@router.get(_PREFIX + "/{run}", responses=errors.responses(404))
def get_run(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, run: deps.Run
) -> schemas.Run:
    """Return one run."""
    return schemas.Run.from_entity(runs.get(ctx, namespace, pipeline, run))


@router.post(
    _PREFIX + "/{run}/cancel",
    status_code=202,
    responses={
        200: {
            "model": schemas.CancelResult,
            "description": "Nothing changed: the run is complete or already being cancelled.",
        },
        **errors.responses(404, 409),
    },
    response_description="The cancel was recorded; the engine stops the run's tasks.",
)
def cancel_run(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    response: fastapi.Response,
) -> schemas.CancelResult:
    """Ask for the run to be cancelled."""
    done = runs.cancel(ctx, namespace, pipeline, run)
    if not done.changed:
        response.status_code = 200
    return schemas.CancelResult(
        run=schemas.Run.from_entity(done.run),
        result="cancelling" if done.changed else "unchanged",
    )


@router.post(
    _PREFIX + "/{run}/retry",
    status_code=202,
    responses=errors.responses(404, 409, 413),
    response_description="The new attempts were added; the engine runs them.",
    openapi_extra=_RETRY_BODY.openapi,
)
def retry_run(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    body: Annotated[schemas.RetryRequest, fastapi.Depends(_RETRY_BODY)],
) -> schemas.RetryResult:
    """Run a failed task again, then the tasks skipped because of it (409 if it did not fail)."""
    done = runs.retry(ctx, namespace, pipeline, run, body.task)
    return schemas.RetryResult(
        run=schemas.Run.from_entity(done.run),
        attempts=[schemas.TaskExecution.from_entity(e) for e in done.attempts],
    )


@router.delete(
    _PREFIX + "/{run}/logs",
    responses=errors.responses(404, 409),
    response_description="The logs are deleted (result 'deleted'), or were already "
    "(result 'unchanged').",
)
def delete_run_logs(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
) -> schemas.LogsDeletedResult:
    """Delete the task logs of a complete run (409 while it runs); the run and its tasks stay."""
    done = runs.delete_logs(ctx, namespace, pipeline, run)
    return schemas.LogsDeletedResult(
        run=schemas.Run.from_entity(done.run), result="deleted" if done.changed else "unchanged"
    )
