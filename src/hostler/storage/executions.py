"""Task execution rows: the ``task_executions`` table on a Connection.

This is the engine's durable queue: it updates these rows several times per task, so every
function here is one statement on the happy path (``update`` first reads the state and status it
replaces, by primary key). None commits; the caller owns the transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, tasks
from hostler.storage import runs, tables

_E = tables.task_executions
_KEY = ("namespace", "pipeline", "run", "task", "attempt")
_MUTABLE = (
    "state",
    "status",
    "reason_kind",
    "reason_description",
    "queued",
    "started",
    "ended",
    "exit_code",
    "container",
    "image_digest",
    "lease_owner",
    "lease_expires",
)
# Built once: the engine runs these several times per task.
_UPDATE = tables.compare_and_set(_E, _KEY, _MUTABLE)
_REVISION = sa.select(_E.c.revision).where(tables.where_key(_E, _KEY))
_PROGRESS = sa.select(_E.c.state, _E.c.status, _E.c.revision).where(tables.where_key(_E, _KEY))
_GET = sa.select(_E).where(tables.where_key(_E, _KEY))
_LATEST = (
    sa.select(_E).where(tables.where_key(_E, _KEY[:-1])).order_by(_E.c.attempt.desc()).limit(1)
)
_OF_RUN = (
    sa.select(_E)
    .where(tables.where_key(_E, _KEY[:3]))
    .order_by(_E.c.position, _E.c.task, _E.c.attempt)
)
_ACTIVE = (
    sa.select(_E)
    .where(_E.c.state.in_([s.value for s in tasks.State if s is not tasks.State.COMPLETE]))
    .order_by(_E.c.created, _E.c.namespace, _E.c.pipeline, _E.c.run, _E.c.position, _E.c.attempt)
    .limit(sa.bindparam("limit"))
)


def to_execution(row: sa.Row[Any]) -> tasks.Execution:
    """Return the task execution stored in ``row``."""
    return tasks.Execution(
        namespace=row.namespace,
        pipeline=row.pipeline,
        run=row.run,
        task=row.task,
        attempt=row.attempt,
        state=tasks.State(row.state),
        status=tasks.Status(row.status),
        reason=runs.to_reason(row.reason_kind, row.reason_description),
        created=row.created,
        position=row.position,
        queued=row.queued,
        started=row.started,
        ended=row.ended,
        exit_code=row.exit_code,
        container=row.container,
        image_digest=row.image_digest,
        lease_owner=row.lease_owner,
        lease_expires=row.lease_expires,
        revision=row.revision,
    )


def _key(e: tasks.Execution) -> dict[str, Any]:
    return tables.params(
        "k_",
        {
            "namespace": e.namespace,
            "pipeline": e.pipeline,
            "run": e.run,
            "task": e.task,
            "attempt": e.attempt,
        },
    )


def _mutable(execution: tasks.Execution) -> dict[str, Any]:
    """Return the column values an update may change (not the key, position or creation)."""
    return {
        "state": execution.state.value,
        "status": execution.status.value,
        **runs.reason_values(execution.reason),
        "queued": execution.queued,
        "started": execution.started,
        "ended": execution.ended,
        "exit_code": execution.exit_code,
        "container": execution.container,
        "image_digest": execution.image_digest,
        "lease_owner": execution.lease_owner,
        "lease_expires": execution.lease_expires,
    }


def _name(namespace: str, pipeline: str, run: int, task: str, attempt: int | None) -> str:
    name = f"task '{namespace}/{pipeline}#{run}/{task}'"
    return name if attempt is None else f"{name} (attempt {attempt})"


def check_new(connection: sa.Connection, executions: Sequence[tasks.Execution]) -> None:
    """Raise AlreadyExists for the first of ``executions`` that is stored already."""
    for e in executions:
        if connection.execute(_REVISION, _key(e)).scalar() is not None:
            name = _name(e.namespace, e.pipeline, e.run, e.task, e.attempt)
            raise errors.AlreadyExists(f"{name}: already exists", field="attempt")


def create(
    connection: sa.Connection, run: int, executions: Sequence[tasks.Execution]
) -> list[tasks.Execution]:
    """Insert ``executions`` as tasks of run ``run`` (one statement) and return them as stored."""
    stored = [execution.evolve(run=run, revision=1) for execution in executions]
    if stored:
        connection.execute(
            _E.insert(),
            [
                {
                    "namespace": e.namespace,
                    "pipeline": e.pipeline,
                    "run": e.run,
                    "task": e.task,
                    "attempt": e.attempt,
                    "position": e.position,
                    "created": e.created,
                    "revision": e.revision,
                    **_mutable(e),
                }
                for e in stored
            ],
        )
    return stored


def get(
    connection: sa.Connection,
    namespace: str,
    pipeline: str,
    run: int,
    task: str,
    attempt: int | None = None,
) -> tasks.Execution:
    """Return one attempt of a task, the latest when ``attempt`` is None; NotFound names the gap."""
    key = {"k_namespace": namespace, "k_pipeline": pipeline, "k_run": run, "k_task": task}
    if attempt is None:
        row = connection.execute(_LATEST, key).first()
    else:
        row = connection.execute(_GET, {**key, "k_attempt": attempt}).first()
    if row is None:
        runs.get(connection, namespace, pipeline, run)
        raise errors.NotFound(
            f"{_name(namespace, pipeline, run, task, attempt)}: not found",
            field="task",
            hint="list the run's task executions to see which exist",
        )
    return to_execution(row)


def list_(
    connection: sa.Connection, namespace: str, pipeline: str, run: int
) -> list[tasks.Execution]:
    """Return every attempt of every task of the run, in pipeline order then attempt."""
    key = {"k_namespace": namespace, "k_pipeline": pipeline, "k_run": run}
    found = [to_execution(row) for row in connection.execute(_OF_RUN, key)]
    if not found:
        runs.get(connection, namespace, pipeline, run)
    return found


def list_active(connection: sa.Connection, limit: int) -> list[tasks.Execution]:
    """Return at most ``limit`` task executions not yet complete, oldest first."""
    return [to_execution(row) for row in connection.execute(_ACTIVE, {"limit": limit})]


def count(connection: sa.Connection, states: Sequence[tasks.State]) -> int:
    """Count task executions in ``states`` across all runs."""
    query = sa.select(sa.func.count()).where(_E.c.state.in_([state.value for state in states]))
    return int(connection.execute(query).scalar_one())


def renew_leases(connection: sa.Connection, owner: str, until: datetime.datetime) -> int:
    """Extend ``owner``'s leases on starting and running executions, leaving revisions alone."""
    held = (tasks.State.STARTING.value, tasks.State.RUNNING.value)
    statement = (
        sa.update(_E)
        .where(_E.c.lease_owner == owner, _E.c.state.in_(held))
        .values(lease_expires=until)
    )
    return connection.execute(statement).rowcount


def update(
    connection: sa.Connection, execution: tasks.Execution, expected_revision: int
) -> tuple[tuple[tasks.State, tasks.Status], tasks.Execution]:
    """Write the execution's progress, outcome, container and lease with compare-and-set.

    Returns the state and status the execution had, and the execution as stored now, so that the
    caller can record what changed.
    """
    e = execution
    key = _key(e)
    before = connection.execute(_PROGRESS, key).first()
    if before is not None and before.revision == expected_revision:
        values = tables.params("v_", _mutable(e))
        row = connection.execute(_UPDATE, {**key, **values, "expected": expected_revision}).first()
        if row is not None:
            # The write matched the revision read above, so ``before`` is what it replaced.
            return (tasks.State(before.state), tasks.Status(before.status)), to_execution(row)
    current = connection.execute(_REVISION, key).scalar()
    name = _name(e.namespace, e.pipeline, e.run, e.task, e.attempt)
    if current is None:
        runs.get(connection, e.namespace, e.pipeline, e.run)
        raise errors.NotFound(f"{name}: not found", field="task")
    raise errors.changed_elsewhere(name, current, expected_revision)
