"""Pipeline and version rows: the ``pipelines`` and ``versions`` tables on a Connection.

A version's configuration is stored as its canonical JSON text, the same text its digest is taken
over. Every function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, pipelines
from hostler.storage import namespaces, tables

_P = tables.pipelines
_V = tables.versions


def to_pipeline(row: sa.Row[Any]) -> pipelines.Pipeline:
    """Return the pipeline stored in ``row``."""
    return pipelines.Pipeline(
        namespace=row.namespace,
        id=row.id,
        description=row.description,
        live_version=row.live_version,
        created=row.created,
        updated=row.updated,
        revision=row.revision,
        canary=row.canary,
    )


def to_version(row: sa.Row[Any]) -> pipelines.Version:
    """Return the version stored in ``row``."""
    return pipelines.Version(
        namespace=row.namespace,
        pipeline=row.pipeline,
        version=row.version,
        digest=row.digest,
        config=pipelines.Config.model_validate(json.loads(row.config)),
        created=row.created,
    )


def _key(namespace: str, pipeline: str) -> sa.ColumnElement[bool]:
    return sa.and_(_P.c.namespace == namespace, _P.c.id == pipeline)


def exists(connection: sa.Connection, namespace: str, pipeline: str) -> bool:
    """Tell whether the pipeline exists."""
    query = sa.select(_P.c.revision).where(_key(namespace, pipeline))
    return connection.execute(query).first() is not None


def require(connection: sa.Connection, namespace: str, pipeline: str) -> None:
    """Raise NotFound naming the namespace or the pipeline, whichever is missing, if any."""
    if not exists(connection, namespace, pipeline):
        raise not_found(connection, namespace, pipeline)


def not_found(connection: sa.Connection, namespace: str, pipeline: str) -> errors.NotFound:
    """Return the error for a missing pipeline, naming the namespace instead if that is missing."""
    namespaces.require(connection, namespace)
    return errors.NotFound(
        f"pipeline '{namespace}/{pipeline}': not found",
        field="pipeline",
        hint="check the name, or register the pipeline first",
    )


def get(connection: sa.Connection, namespace: str, pipeline: str) -> pipelines.Pipeline:
    """Return the pipeline; raise NotFound naming what is missing."""
    row = connection.execute(sa.select(_P).where(_key(namespace, pipeline))).first()
    if row is None:
        raise not_found(connection, namespace, pipeline)
    return to_pipeline(row)


def list_(
    connection: sa.Connection, namespace: str, after: str | None, limit: int
) -> list[pipelines.Pipeline]:
    """Return at most ``limit`` of the namespace's pipelines ordered by id, after ``after``."""
    query = sa.select(_P).where(_P.c.namespace == namespace).order_by(_P.c.id).limit(limit)
    if after is not None:
        query = query.where(_P.c.id > after)
    found = [to_pipeline(row) for row in connection.execute(query)]
    if not found:
        namespaces.require(connection, namespace)
    return found


def update(
    connection: sa.Connection,
    pipeline: pipelines.Pipeline,
    expected_revision: int,
    *,
    with_canary: bool = False,
) -> tuple[int | None, pipelines.Pipeline]:
    """Write the pipeline's description, live version and update time with compare-and-set, and
    its canary too when ``with_canary``.

    Returns the live version the pipeline had, and the pipeline as stored now, so that the caller
    can record what changed.
    """
    key = _key(pipeline.namespace, pipeline.id)
    before = connection.execute(sa.select(_P.c.live_version, _P.c.revision).where(key)).first()
    if before is not None and before.revision == expected_revision:
        values: dict[str, Any] = {
            "description": pipeline.description,
            "live_version": pipeline.live_version,
            "updated": pipeline.updated,
        }
        if with_canary:
            values["canary"] = pipeline.canary
        row = connection.execute(
            _P.update()
            .where(key, _P.c.revision == expected_revision)
            .values(**values, revision=_P.c.revision + 1)
            .returning(*_P.c)
        ).first()
        if row is not None:
            # The write matched the revision read above, so ``before`` is what it replaced.
            return before.live_version, to_pipeline(row)
    current = connection.execute(sa.select(_P.c.revision).where(key)).scalar()
    if current is None:
        raise not_found(connection, pipeline.namespace, pipeline.id)
    raise errors.changed_elsewhere(f"pipeline '{pipeline.ref}'", current, expected_revision)


def find_version(
    connection: sa.Connection, namespace: str, pipeline: str, digest: str
) -> pipelines.Version | None:
    """Return the pipeline's version with ``digest``, or None."""
    query = sa.select(_V).where(
        _V.c.namespace == namespace, _V.c.pipeline == pipeline, _V.c.digest == digest
    )
    row = connection.execute(query).first()
    return None if row is None else to_version(row)


def create_version(
    connection: sa.Connection,
    namespace: str,
    config: pipelines.Config,
    digest: str,
    now: datetime.datetime,
) -> pipelines.Version:
    """Insert ``config`` as the pipeline's next version, inserting the pipeline if it is new."""
    namespaces.require(connection, namespace)
    if not exists(connection, namespace, config.id):
        connection.execute(
            _P.insert().values(
                namespace=namespace,
                id=config.id,
                description=config.description,
                live_version=None,
                run_counter=0,
                created=now,
                updated=now,
                revision=1,
            )
        )
    latest = connection.execute(
        sa.select(sa.func.max(_V.c.version)).where(
            _V.c.namespace == namespace, _V.c.pipeline == config.id
        )
    ).scalar()
    version = pipelines.Version(
        namespace=namespace,
        pipeline=config.id,
        version=(latest or 0) + 1,
        digest=digest,
        config=config,
        created=now,
    )
    try:
        connection.execute(
            _V.insert().values(
                namespace=namespace,
                pipeline=config.id,
                version=version.version,
                digest=digest,
                config=pipelines.canonical_json(config),
                created=now,
            )
        )
    except sa.exc.IntegrityError as exc:
        raise errors.Conflict(
            f"pipeline '{namespace}/{config.id}': a version with digest '{digest}' "
            "was stored at the same time",
            hint="look the version up by its digest again",
        ) from exc
    return version


def get_version(
    connection: sa.Connection, namespace: str, pipeline: str, version: int
) -> pipelines.Version:
    """Return one version; raise NotFound naming the namespace, pipeline or version missing."""
    query = sa.select(_V).where(
        _V.c.namespace == namespace, _V.c.pipeline == pipeline, _V.c.version == version
    )
    row = connection.execute(query).first()
    if row is None:
        require(connection, namespace, pipeline)
        raise errors.NotFound(
            f"version {version} of pipeline '{namespace}/{pipeline}': not found",
            field="version",
            hint="list the pipeline's versions to see which exist",
        )
    return to_version(row)


def list_versions(
    connection: sa.Connection, namespace: str, pipeline: str, after: int | None, limit: int
) -> list[pipelines.Version]:
    """Return at most ``limit`` of the pipeline's versions, newest first, older than ``after``."""
    query = (
        sa.select(_V)
        .where(_V.c.namespace == namespace, _V.c.pipeline == pipeline)
        .order_by(_V.c.version.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(_V.c.version < after)
    found = [to_version(row) for row in connection.execute(query)]
    if not found:
        require(connection, namespace, pipeline)
    return found
