"""Use cases for task executions: list a run's tasks, get one, read its log."""

from __future__ import annotations

from hostler.core import errors, ports, tasks
from hostler.services import pages
from hostler.services.context import Context


def list_(
    ctx: Context, namespace: str, pipeline: str, run: int, cursor: str | None, limit: int
) -> pages.Page[tasks.Execution]:
    """Return a page of the run's task executions, in pipeline order then attempt."""
    ctx.store.get_run(namespace, pipeline, run)
    everything = ctx.store.list_executions(namespace, pipeline, run)
    return pages.page(
        lambda after, n: everything[(after + 1 if after is not None else 0) :][:n],
        cursor,
        limit,
        int,
        everything.index,
    )


def get(
    ctx: Context, namespace: str, pipeline: str, run: int, task: str, attempt: int | None = None
) -> tasks.Execution:
    """Return a task execution: the latest attempt unless ``attempt`` is given."""
    return ctx.store.get_execution(namespace, pipeline, run, task, attempt)


def read_log(
    ctx: Context,
    execution: tasks.Execution,
    offset: int = 0,
    limit: int | None = None,
) -> ports.LogChunk:
    """Return part of the execution's log; a task that never ran has an empty, ended log."""
    if offset < 0:
        raise errors.InvalidArgument(
            "offset: must not be negative", field="offset", hint="start at 0"
        )
    try:
        return ctx.logs.read(execution.log_key, offset, limit)
    except errors.NotFound:
        run = ctx.store.get_run(execution.namespace, execution.pipeline, execution.run)
        if run.logs_deleted is not None:
            raise errors.NotFound(
                f"log of task '{execution.ref}': deleted with the logs of run '{run.ref}' "
                f"on {run.logs_deleted.isoformat(timespec='seconds')}",
                field="task",
                hint="logs are kept for the newest runs of each pipeline (setting "
                "logs.keep_runs); the task's status and exit code remain",
            ) from None
        ended = execution.state is tasks.State.COMPLETE
        return ports.LogChunk(lines=[], next_offset=offset, ended=ended)
