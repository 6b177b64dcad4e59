"""Deployment rows: the ``deployments`` table on a Connection, canary routing and run tallies.

A deployment is written together with its pipeline row, under that row's compare-and-set, and the
pipeline's ``canary`` column names the deployment whose canary is active. The store gives a new
deployment its id, its ``first_run`` and its ``routed`` count, and keeps them when it is replaced:
``routed`` is counted up by ``route`` alone, which does not touch the pipeline's revision. Every
function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from hostler.core import deployments, errors, pipelines, runs
from hostler.storage import pipelines as pipeline_rows
from hostler.storage import tables

_D = tables.deployments
_P = tables.pipelines
_R = tables.runs


def to_deployment(row: sa.Row[Any]) -> deployments.Deployment:
    """Return the deployment stored in ``row``."""
    auto_abort = None
    if row.abort_max_failure_rate is not None and row.abort_window is not None:
        auto_abort = deployments.AutoAbort(row.abort_max_failure_rate, row.abort_window)
    return deployments.Deployment(
        namespace=row.namespace,
        pipeline=row.pipeline,
        id=row.id,
        kind=deployments.Kind(row.kind),
        state=deployments.State(row.state),
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        started=row.started,
        first_run=row.first_run,
        ended=row.ended,
        percent=row.percent,
        auto_abort=auto_abort,
        routed=row.routed,
        reason=row.reason,
    )


def _values(deployment: deployments.Deployment) -> dict[str, Any]:
    """Return the column values the caller gives (not the key, ``first_run`` or ``routed``)."""
    auto_abort = deployment.auto_abort
    return {
        "kind": deployment.kind.value,
        "state": deployment.state.value,
        "from_version": deployment.from_version,
        "to_version": deployment.to_version,
        "actor": deployment.actor,
        "started": deployment.started,
        "ended": deployment.ended,
        "percent": deployment.percent,
        "abort_max_failure_rate": None if auto_abort is None else auto_abort.max_failure_rate,
        "abort_window": None if auto_abort is None else auto_abort.window,
        "reason": deployment.reason,
    }


def _key(namespace: str, pipeline: str, deployment: int) -> sa.ColumnElement[bool]:
    return sa.and_(_D.c.namespace == namespace, _D.c.pipeline == pipeline, _D.c.id == deployment)


def not_found(
    connection: sa.Connection, namespace: str, pipeline: str, deployment: int
) -> errors.NotFound:
    """Return the error for a missing deployment, naming its namespace or pipeline if missing."""
    pipeline_rows.require(connection, namespace, pipeline)
    return errors.NotFound(
        f"deployment {deployment} of pipeline '{namespace}/{pipeline}': not found",
        field="deployment",
        hint="list the pipeline's deployments to see which exist",
    )


def check_of_pipeline(pipeline: pipelines.Pipeline, deployment: deployments.Deployment) -> None:
    """Raise InvalidArgument unless ``deployment`` is one of ``pipeline``'s."""
    if (deployment.namespace, deployment.pipeline) != (pipeline.namespace, pipeline.id):
        raise errors.InvalidArgument(
            f"deployment of pipeline '{deployment.namespace}/{deployment.pipeline}': "
            f"given with pipeline '{pipeline.ref}'",
            field="deployment",
            hint="save a deployment together with its own pipeline",
        )


def save(
    connection: sa.Connection,
    pipeline: pipelines.Pipeline,
    expected_revision: int,
    deployment: deployments.Deployment,
) -> tuple[int | None, pipelines.Pipeline, deployments.Deployment]:
    """Write ``pipeline`` with compare-and-set, its canary following ``deployment``, and insert
    (``id`` 0) or replace ``deployment``.

    Returns the live version the pipeline had, the pipeline and the deployment as stored now.
    """
    check_of_pipeline(pipeline, deployment)
    new = deployment.id == 0
    if new:
        latest = connection.execute(
            sa.select(sa.func.max(_D.c.id)).where(
                _D.c.namespace == pipeline.namespace, _D.c.pipeline == pipeline.id
            )
        ).scalar()
        deployment = deployment.evolve(id=(latest or 0) + 1)
    canary = deployment.id if deployment.state is deployments.State.CANARY else None
    before, after = pipeline_rows.update(
        connection,
        dataclasses.replace(pipeline, canary=canary),
        expected_revision,
        with_canary=True,
    )
    if new:
        run_counter = connection.execute(
            sa.select(_P.c.run_counter).where(
                _P.c.namespace == pipeline.namespace, _P.c.id == pipeline.id
            )
        ).scalar_one()
        row = connection.execute(
            _D.insert()
            .values(
                namespace=deployment.namespace,
                pipeline=deployment.pipeline,
                id=deployment.id,
                first_run=run_counter + 1,
                routed=0,
                **_values(deployment),
            )
            .returning(*_D.c)
        ).one()
    else:
        key = _key(deployment.namespace, deployment.pipeline, deployment.id)
        found = connection.execute(
            _D.update().where(key).values(**_values(deployment)).returning(*_D.c)
        ).first()
        if found is None:
            raise not_found(connection, deployment.namespace, deployment.pipeline, deployment.id)
        row = found
    return before, after, to_deployment(row)


def get(
    connection: sa.Connection, namespace: str, pipeline: str, deployment: int
) -> deployments.Deployment:
    """Return one deployment; raise NotFound naming the namespace, pipeline or deployment."""
    row = connection.execute(sa.select(_D).where(_key(namespace, pipeline, deployment))).first()
    if row is None:
        raise not_found(connection, namespace, pipeline, deployment)
    return to_deployment(row)


def list_(
    connection: sa.Connection, namespace: str, pipeline: str, after: int | None, limit: int
) -> list[deployments.Deployment]:
    """Return at most ``limit`` of the pipeline's deployments, newest first, older than
    ``after``."""
    query = (
        sa.select(_D)
        .where(_D.c.namespace == namespace, _D.c.pipeline == pipeline)
        .order_by(_D.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(_D.c.id < after)
    found = [to_deployment(row) for row in connection.execute(query)]
    if not found:
        pipeline_rows.require(connection, namespace, pipeline)
    return found


def list_canaries(connection: sa.Connection, limit: int) -> list[deployments.Deployment]:
    """Return at most ``limit`` deployments in state ``canary``, oldest first."""
    query = (
        sa.select(_D)
        .where(_D.c.state == deployments.State.CANARY.value)
        .order_by(_D.c.started, _D.c.namespace, _D.c.pipeline, _D.c.id)
        .limit(limit)
    )
    return [to_deployment(row) for row in connection.execute(query)]


def route(connection: sa.Connection, namespace: str, pipeline: str) -> tuple[int, runs.Route]:
    """Return the version the pipeline's next run takes and why, counting it if a canary routes
    it; raise FailedPrecondition when no version is live."""
    found = pipeline_rows.get(connection, namespace, pipeline)
    if found.live_version is None:
        raise no_live_version(found)
    if found.canary is None:
        return found.live_version, runs.Route.LIVE
    canary = connection.execute(
        _D.update()
        .where(
            _key(namespace, pipeline, found.canary),
            _D.c.state == deployments.State.CANARY.value,
        )
        .values(routed=_D.c.routed + 1)
        .returning(_D.c.routed, _D.c.percent, _D.c.to_version)
    ).first()
    if canary is None or canary.percent is None:
        return found.live_version, runs.Route.LIVE
    if deployments.routes_to_candidate(canary.routed, canary.percent):
        return canary.to_version, runs.Route.CANARY
    return found.live_version, runs.Route.LIVE


def no_live_version(pipeline: pipelines.Pipeline) -> errors.FailedPrecondition:
    """Return the error for a run of a pipeline that has no live version."""
    return errors.FailedPrecondition(
        f"pipeline '{pipeline.ref}': has no live version",
        field="pipeline",
        hint="deploy a version first with 'hostler pipeline up FILE'",
    )


def tally(
    connection: sa.Connection,
    namespace: str,
    pipeline: str,
    first_run: int,
    last_run: int | None,
) -> list[deployments.Tally]:
    """Count the pipeline's runs with ids from ``first_run`` to ``last_run`` by version and
    status; return one tally per version, in version order."""
    query = (
        sa.select(_R.c.version, _R.c.status, sa.func.count())
        .where(_R.c.namespace == namespace, _R.c.pipeline == pipeline, _R.c.id >= first_run)
        .group_by(_R.c.version, _R.c.status)
    )
    if last_run is not None:
        query = query.where(_R.c.id <= last_run)
    counts: dict[int, dict[runs.Status, int]] = {}
    for version, status, count in connection.execute(query):
        counts.setdefault(version, {})[runs.Status(status)] = int(count)
    if not counts:
        pipeline_rows.require(connection, namespace, pipeline)
    return [to_tally(version, counts[version]) for version in sorted(counts)]


def to_tally(version: int, counts: dict[runs.Status, int]) -> deployments.Tally:
    """Return the tally of ``version`` from its number of runs by status."""
    return deployments.Tally(
        version=version,
        runs=sum(counts.values()),
        successful=counts.get(runs.Status.SUCCESSFUL, 0),
        failed=counts.get(runs.Status.FAILED, 0),
        cancelled=counts.get(runs.Status.CANCELLED, 0),
    )
