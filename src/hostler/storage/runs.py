"""Run rows: the ``runs`` table on a Connection, and the reason columns runs and tasks share.

Every function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, reasons, runs
from hostler.storage import pipelines, tables

_R = tables.runs
_P = tables.pipelines
_V = tables.versions
_KEY = ("namespace", "pipeline", "id")
_MUTABLE = (
    "state",
    "status",
    "reason_kind",
    "reason_description",
    "started",
    "ended",
    "cancel_requested",
    "logs_deleted",
)
# Built once: the engine reads and updates runs on its hot path.
_UPDATE = tables.compare_and_set(_R, _KEY, _MUTABLE)
_REVISION = sa.select(_R.c.revision).where(tables.where_key(_R, _KEY))
_PROGRESS = sa.select(_R.c.state, _R.c.status, _R.c.revision).where(tables.where_key(_R, _KEY))
_GET = sa.select(_R).where(tables.where_key(_R, _KEY))
_ACTIVE = (
    sa.select(_R)
    .where(_R.c.state.in_([s.value for s in runs.State if s is not runs.State.COMPLETE]))
    .order_by(_R.c.created, _R.c.namespace, _R.c.pipeline, _R.c.id)
    .limit(sa.bindparam("limit"))
)


def to_reason(kind: str | None, description: str | None) -> reasons.Reason | None:
    """Return the reason stored in the two reason columns (None when the kind is empty)."""
    if kind is None:
        return None
    return reasons.Reason(kind=reasons.Kind(kind), description=description or "")


def reason_values(reason: reasons.Reason | None) -> dict[str, Any]:
    """Return the values of the two reason columns for ``reason``."""
    if reason is None:
        return {"reason_kind": None, "reason_description": None}
    return {"reason_kind": reason.kind.value, "reason_description": reason.description}


def to_run(row: sa.Row[Any]) -> runs.Run:
    """Return the run stored in ``row``."""
    return runs.Run(
        namespace=row.namespace,
        pipeline=row.pipeline,
        id=row.id,
        version=row.version,
        state=runs.State(row.state),
        status=runs.Status(row.status),
        reason=to_reason(row.reason_kind, row.reason_description),
        variables=json.loads(row.variables),
        trigger=row.trigger,
        created=row.created,
        started=row.started,
        ended=row.ended,
        cancel_requested=row.cancel_requested,
        logs_deleted=row.logs_deleted,
        route=runs.Route(row.route),
        revision=row.revision,
    )


def _mutable(run: runs.Run) -> dict[str, Any]:
    """Return the column values an update may change (not the key, version, route, ...)."""
    return {
        "state": run.state.value,
        "status": run.status.value,
        **reason_values(run.reason),
        "started": run.started,
        "ended": run.ended,
        "cancel_requested": run.cancel_requested,
        "logs_deleted": run.logs_deleted,
    }


def _key(namespace: str, pipeline: str, run: int) -> dict[str, Any]:
    return {"k_namespace": namespace, "k_pipeline": pipeline, "k_id": run}


def not_found(
    connection: sa.Connection, namespace: str, pipeline: str, run: int
) -> errors.NotFound:
    """Return the error for a missing run, naming its namespace or pipeline if that is missing."""
    pipelines.require(connection, namespace, pipeline)
    return errors.NotFound(
        f"run '{namespace}/{pipeline}#{run}': not found (pipeline '{namespace}/{pipeline}' exists)",
        field="run",
        hint="list the pipeline's runs to see which exist",
    )


def create(connection: sa.Connection, run: runs.Run) -> runs.Run:
    """Insert ``run`` with the pipeline's next run id and return it as stored."""
    version = connection.execute(
        sa.select(_V.c.version).where(
            _V.c.namespace == run.namespace,
            _V.c.pipeline == run.pipeline,
            _V.c.version == run.version,
        )
    ).first()
    if version is None:
        pipelines.require(connection, run.namespace, run.pipeline)
        raise errors.NotFound(
            f"version {run.version} of pipeline '{run.namespace}/{run.pipeline}': not found",
            field="version",
        )
    run_id = connection.execute(
        _P.update()
        .where(_P.c.namespace == run.namespace, _P.c.id == run.pipeline)
        .values(run_counter=_P.c.run_counter + 1)
        .returning(_P.c.run_counter)
    ).scalar_one()
    stored = run.evolve(id=run_id, revision=1)
    connection.execute(
        _R.insert().values(
            namespace=stored.namespace,
            pipeline=stored.pipeline,
            id=stored.id,
            version=stored.version,
            variables=json.dumps(stored.variables, sort_keys=True),
            trigger=stored.trigger,
            created=stored.created,
            route=stored.route.value,
            revision=stored.revision,
            **_mutable(stored),
        )
    )
    return stored


def get(connection: sa.Connection, namespace: str, pipeline: str, run: int) -> runs.Run:
    """Return one run; raise NotFound naming what is missing."""
    row = connection.execute(_GET, _key(namespace, pipeline, run)).first()
    if row is None:
        raise not_found(connection, namespace, pipeline, run)
    return to_run(row)


def list_(
    connection: sa.Connection,
    namespace: str,
    pipeline: str,
    after: int | None,
    limit: int,
    states: Sequence[runs.State] = (),
    version: int | None = None,
) -> list[runs.Run]:
    """Return at most ``limit`` of the pipeline's runs, newest first, older than ``after``, only
    those in ``states`` (when given) and of ``version`` (when not None)."""
    query = (
        sa.select(_R)
        .where(_R.c.namespace == namespace, _R.c.pipeline == pipeline)
        .order_by(_R.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(_R.c.id < after)
    if states:
        query = query.where(_R.c.state.in_([state.value for state in states]))
    if version is not None:
        query = query.where(_R.c.version == version)
    found = [to_run(row) for row in connection.execute(query)]
    if not found:
        pipelines.require(connection, namespace, pipeline)
    return found


def list_active(connection: sa.Connection, limit: int) -> list[runs.Run]:
    """Return at most ``limit`` runs not yet complete, oldest first."""
    return [to_run(row) for row in connection.execute(_ACTIVE, {"limit": limit})]


def count(connection: sa.Connection, namespace: str, pipeline: str, state: runs.State) -> int:
    """Count the pipeline's runs in ``state``."""
    query = sa.select(sa.func.count()).where(
        _R.c.namespace == namespace, _R.c.pipeline == pipeline, _R.c.state == state.value
    )
    found = int(connection.execute(query).scalar_one())
    if not found:
        pipelines.require(connection, namespace, pipeline)
    return found


def update(
    connection: sa.Connection, run: runs.Run, expected_revision: int
) -> tuple[tuple[runs.State, runs.Status], runs.Run]:
    """Write the run's state, status, reason and times with compare-and-set.

    Returns the state and status the run had, and the run as stored now, so that the caller can
    record what changed.
    """
    key = _key(run.namespace, run.pipeline, run.id)
    before = connection.execute(_PROGRESS, key).first()
    if before is not None and before.revision == expected_revision:
        values = tables.params("v_", _mutable(run))
        row = connection.execute(_UPDATE, {**key, **values, "expected": expected_revision}).first()
        if row is not None:
            # The write matched the revision read above, so ``before`` is what it replaced.
            return (runs.State(before.state), runs.Status(before.status)), to_run(row)
    current = connection.execute(_REVISION, key).scalar()
    if current is None:
        raise not_found(connection, run.namespace, run.pipeline, run.id)
    raise errors.changed_elsewhere(f"run '{run.ref}'", current, expected_revision)
