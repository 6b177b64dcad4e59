"""Use cases for runs: start one from the live version, list, get, cancel, retry a task, delete
its logs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hostler.core import dag, errors, identifiers, runs, tasks
from hostler.core.pipelines import Config
from hostler.services import conflicts, objects, pages
from hostler.services.context import Context

MAX_VARIABLES = 100
MAX_VARIABLE_BYTES = 32 * 1024


def _check_variables(variables: Mapping[str, str]) -> dict[str, str]:
    if len(variables) > MAX_VARIABLES:
        raise errors.InvalidArgument(
            f"variables: {len(variables)} given, at most {MAX_VARIABLES} allowed",
            field="variables",
            hint="pass large inputs as objects instead",
        )
    for name, value in variables.items():
        identifiers.check_variable(name, field=f"variables.{name}")
        if not isinstance(value, str):
            raise errors.InvalidArgument(
                f"variable '{name}': value must be a string",
                field=f"variables.{name}",
                hint='quote the value, e.g. "3"',
            )
        if len(value.encode()) > MAX_VARIABLE_BYTES:
            raise errors.InvalidArgument(
                f"variable '{name}': value longer than {MAX_VARIABLE_BYTES} bytes",
                field=f"variables.{name}",
                hint="pass large inputs as objects instead",
            )
    return dict(variables)


def start(
    ctx: Context,
    namespace: str,
    pipeline: str,
    variables: Mapping[str, str] | None = None,
    trigger: str = "manual",
) -> runs.Run:
    """Start a run with ``variables``; it begins ``pending``.

    It runs the live version, or the candidate of a canary when the canary's routing says so
    (``core.deployments``); ``route`` on the run says which.
    """
    variables = _check_variables(variables or {})
    number, route = ctx.store.route_run(namespace, pipeline)
    version = ctx.store.get_version(namespace, pipeline, number)
    now = ctx.clock()
    run = runs.Run(
        namespace=namespace,
        pipeline=pipeline,
        id=0,
        version=version.version,
        state=runs.State.PENDING,
        status=runs.Status.UNKNOWN,
        reason=None,
        variables=variables,
        trigger=trigger,
        created=now,
        route=route,
    )
    config = version.config
    order = dag.order([(t.id, list(t.depends_on)) for t in config.tasks])
    executions = [
        tasks.Execution(
            namespace=namespace,
            pipeline=pipeline,
            run=0,
            task=task_id,
            attempt=1,
            state=tasks.State.WAITING,
            status=tasks.Status.UNKNOWN,
            reason=None,
            created=now,
            position=position,
        )
        for position, task_id in enumerate(order)
    ]
    stored, _ = ctx.store.create_run(run, executions)
    ctx.wake()
    objects.expire(ctx, namespace, pipeline, stored.id)
    return stored


def get(ctx: Context, namespace: str, pipeline: str, run: int) -> runs.Run:
    """Return one run."""
    return ctx.store.get_run(namespace, pipeline, run)


def list_(
    ctx: Context,
    namespace: str,
    pipeline: str,
    cursor: str | None,
    limit: int,
    states: Sequence[runs.State] = (),
) -> pages.Page[runs.Run]:
    """Return a page of the pipeline's runs, newest first, optionally only in ``states``."""
    ctx.store.get_pipeline(namespace, pipeline)
    return pages.page(
        lambda after, n: ctx.store.list_runs(namespace, pipeline, after, n, states),
        cursor,
        limit,
        int,
        lambda r: r.id,
    )


@dataclasses.dataclass(frozen=True)
class Cancelled:
    """The run after a cancel request, and whether the request changed anything."""

    run: runs.Run
    changed: bool


def cancel(ctx: Context, namespace: str, pipeline: str, run: int) -> Cancelled:
    """Ask for the run to be cancelled; the engine stops its containers and records the outcome.

    Cancelling a run that is complete, or already being cancelled, changes nothing.
    """

    def once() -> Cancelled:
        current = ctx.store.get_run(namespace, pipeline, run)
        if current.state is runs.State.COMPLETE or current.cancel_requested:
            return Cancelled(current, changed=False)
        updated = ctx.store.update_run(current.evolve(cancel_requested=True), current.revision)
        ctx.wake()
        return Cancelled(updated, changed=True)

    return conflicts.until_written(once, f"run '{namespace}/{pipeline}#{run}'", "cancel")


RETRYABLE = (tasks.Status.FAILED, tasks.Status.LOST, tasks.Status.CANCELLED)
"""How a task must have ended to be retried by hand."""


@dataclasses.dataclass(frozen=True)
class Retried:
    """The run after a retry request, and the new attempts it added."""

    run: runs.Run
    attempts: list[tasks.Execution]


def retry(ctx: Context, namespace: str, pipeline: str, run: int, task: str) -> Retried:
    """Run ``task`` of the run again, then the dependents that were skipped because of it.

    The task must have ended failed, lost or cancelled. Each retried task gets a new attempt; the
    earlier attempts stay in the run's timeline. A complete run is reopened: it is pending again,
    starts when its pipeline's parallelism allows, and ends again when the new attempts do.
    """
    return conflicts.until_written(
        lambda: _retry_once(ctx, namespace, pipeline, run, task),
        f"run '{namespace}/{pipeline}#{run}'",
        "retry a task",
    )


def _retry_once(ctx: Context, namespace: str, pipeline: str, run: int, task: str) -> Retried:
    current = ctx.store.get_run(namespace, pipeline, run)
    config = ctx.store.get_version(namespace, pipeline, current.version).config
    config.task(task)  # NotFound when the pipeline version has no such task
    latest = tasks.latest_attempts(ctx.store.list_executions(namespace, pipeline, run))
    target = latest[task]
    if target.state is not tasks.State.COMPLETE or target.status not in RETRYABLE:
        raise errors.FailedPrecondition(
            f"task '{task}' of run '{current.ref}': is {_progress(target)}; only a task that "
            "ended failed, lost or cancelled can be retried",
            field="task",
            hint="wait for the task to end, or pick a task that failed",
        )
    if current.cancel_requested and current.state is not runs.State.COMPLETE:
        raise errors.FailedPrecondition(
            f"run '{current.ref}': is being cancelled",
            field="run",
            hint="wait until the run is complete, then retry the task",
        )
    now = ctx.clock()
    attempts = [latest[t].next_attempt(now) for t in _skipped_dependents(config, latest, task)]
    reopened = current
    if current.state is runs.State.COMPLETE:
        state, status = runs.MACHINE.apply(current.state, runs.Event.REOPEN)
        reopened = current.evolve(
            state=state,
            status=status,
            reason=None,
            started=None,
            ended=None,
            cancel_requested=False,
        )
    stored, added = ctx.store.add_attempts(reopened, current.revision, attempts)
    ctx.wake()
    return Retried(stored, added)


def _skipped_dependents(
    config: Config, latest: Mapping[str, tasks.Execution], task: str
) -> list[str]:
    """Return ``task`` and, in pipeline order, the tasks skipped because of it (transitively)."""
    chosen = {task}
    grew = True
    while grew:
        grew = False
        for candidate in config.tasks:
            skipped = latest[candidate.id].status is tasks.Status.SKIPPED
            if candidate.id not in chosen and skipped and chosen & set(candidate.depends_on):
                chosen.add(candidate.id)
                grew = True
    return [t.id for t in config.tasks if t.id in chosen]


def _progress(execution: tasks.Execution) -> str:
    if execution.state is tasks.State.COMPLETE:
        return execution.status.value
    return execution.state.value


@dataclasses.dataclass(frozen=True)
class LogsDeleted:
    """The run after a request to delete its logs, and whether the request changed anything."""

    run: runs.Run
    changed: bool


def delete_logs(ctx: Context, namespace: str, pipeline: str, run: int) -> LogsDeleted:
    """Delete the logs of every task execution of a complete run; the run records when.

    The run, its task executions, their statuses and exit codes stay. Deleting twice changes
    nothing. The logs go first and the record second, so a failure in between leaves a run whose
    deletion is simply done again.
    """
    current = ctx.store.get_run(namespace, pipeline, run)
    if current.logs_deleted is not None:
        return LogsDeleted(current, changed=False)
    if current.state is not runs.State.COMPLETE:
        raise errors.FailedPrecondition(
            f"run '{current.ref}': is {current.state.value}; the logs of a run are deleted once "
            "it is complete",
            field="run",
            hint="wait for the run to complete, or cancel it first",
        )
    for execution in ctx.store.list_executions(namespace, pipeline, run):
        ctx.logs.delete(execution.log_key)
    now = ctx.clock()

    def record() -> LogsDeleted:
        latest = ctx.store.get_run(namespace, pipeline, run)
        return LogsDeleted(
            ctx.store.update_run(latest.evolve(logs_deleted=now), latest.revision), True
        )

    return conflicts.until_written(record, f"run '{current.ref}'", "record its logs deleted")
