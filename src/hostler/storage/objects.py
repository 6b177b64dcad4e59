"""Object rows: the ``objects`` table on a Connection.

An object is found by its pipeline, its run (``tables.PIPELINE_SCOPE`` in the row for a pipeline's
object, None in ``core.objects.Object``) and its key. Putting one replaces the object of that key
in that place whole. The rows a write replaces or deletes are read first and locked (``FOR
UPDATE``; SQLite has one writer at a time anyway), so that what it returns is what it removed.
Every function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, objects
from hostler.storage import pipelines as pipeline_rows
from hostler.storage import runs as run_rows
from hostler.storage import tables

_O = tables.objects
_R = tables.runs
_KEY = ("namespace", "pipeline", "run", "key")
_REPLACED = ("digest", "size", "created", "created_by")
_GET = sa.select(_O).where(tables.where_key(_O, _KEY))
_LOCK = _GET.with_for_update()
_DELETE = _O.delete().where(tables.where_key(_O, _KEY))
_REPLACE = (
    _O.update()
    .where(tables.where_key(_O, _KEY))
    .values({_O.c[name]: sa.bindparam(f"v_{name}", type_=_O.c[name].type) for name in _REPLACED})
)


def to_object(row: sa.Row[Any]) -> objects.Object:
    """Return the object stored in ``row``."""
    return objects.Object(
        namespace=row.namespace,
        pipeline=row.pipeline,
        run=None if row.run == tables.PIPELINE_SCOPE else row.run,
        key=row.key,
        digest=row.digest,
        size=row.size,
        created=row.created,
        created_by=row.created_by,
    )


def _run_column(run: int | None) -> int:
    return tables.PIPELINE_SCOPE if run is None else run


def _key(namespace: str, pipeline: str, run: int | None, key: str) -> dict[str, Any]:
    return {
        "k_namespace": namespace,
        "k_pipeline": pipeline,
        "k_run": _run_column(run),
        "k_key": key,
    }


def _replaced(obj: objects.Object) -> dict[str, Any]:
    """Return the values of the columns a replacement writes."""
    return {
        "digest": obj.digest,
        "size": obj.size,
        "created": obj.created,
        "created_by": obj.created_by,
    }


def _where_place(namespace: str, pipeline: str, run: int | None) -> sa.ColumnElement[bool]:
    return sa.and_(
        _O.c.namespace == namespace, _O.c.pipeline == pipeline, _O.c.run == _run_column(run)
    )


def require_place(
    connection: sa.Connection, namespace: str, pipeline: str, run: int | None
) -> None:
    """Raise NotFound naming the namespace, pipeline or run missing, if any. A run numbered
    below 1 never exists (and must not reach the pipeline's objects, kept under run 0)."""
    if run is None:
        pipeline_rows.require(connection, namespace, pipeline)
        return
    query = sa.select(_R.c.id).where(
        _R.c.namespace == namespace, _R.c.pipeline == pipeline, _R.c.id == run
    )
    if run < 1 or connection.execute(query).first() is None:
        raise run_rows.not_found(connection, namespace, pipeline, run)


def not_found(
    connection: sa.Connection, namespace: str, pipeline: str, run: int | None, key: str
) -> errors.NotFound:
    """Return the error for a missing object, naming its namespace, pipeline or run if that is
    what is missing."""
    require_place(connection, namespace, pipeline, run)
    return objects.not_found(namespace, pipeline, run, key)


def put(
    connection: sa.Connection, obj: objects.Object, keep: int | None
) -> tuple[objects.Object | None, list[objects.Object]]:
    """Store ``obj``, replacing the object of its key in its place; then, for a pipeline's
    object with ``keep``, delete the pipeline's oldest objects beyond ``keep``, never ``obj``.

    Returns the object replaced (or None) and those deleted, oldest first. NotFound naming the
    namespace, pipeline or run when that does not exist.
    """
    require_place(connection, obj.namespace, obj.pipeline, obj.run)
    key = _key(obj.namespace, obj.pipeline, obj.run, obj.key)
    before = connection.execute(_LOCK, key).first()
    if before is None:
        try:
            # A savepoint, so that a lost race is told apart below without aborting the
            # transaction.
            with connection.begin_nested():
                connection.execute(
                    _O.insert().values(
                        namespace=obj.namespace,
                        pipeline=obj.pipeline,
                        run=_run_column(obj.run),
                        key=obj.key,
                        **_replaced(obj),
                    )
                )
        except sa.exc.IntegrityError:
            # Another writer inserted the same object between our read and our insert
            # (PostgreSQL): replace theirs, as if ours had come second.
            before = connection.execute(_LOCK, key).first()
            if before is None:
                raise
    if before is not None:
        connection.execute(_REPLACE, {**key, **tables.params("v_", _replaced(obj))})
    replaced = None if before is None else to_object(before)
    if obj.run is not None or keep is None:
        return replaced, []
    return replaced, _evict(connection, obj, keep)


def _evict(connection: sa.Connection, kept: objects.Object, keep: int) -> list[objects.Object]:
    """Delete the oldest objects of ``kept``'s pipeline beyond ``keep``, never ``kept``."""
    place = _where_place(kept.namespace, kept.pipeline, None)
    held = connection.execute(sa.select(sa.func.count()).select_from(_O).where(place)).scalar_one()
    excess = int(held) - max(keep, 0)
    if excess <= 0:
        return []
    query = (
        sa.select(_O)
        .where(place, _O.c.key != kept.key)
        .order_by(_O.c.created, _O.c.key)
        .limit(excess)
        .with_for_update()
    )
    evicted = [to_object(row) for row in connection.execute(query)]
    _delete_all(connection, evicted)
    return evicted


def _delete_all(connection: sa.Connection, found: Sequence[objects.Object]) -> None:
    if found:
        connection.execute(_DELETE, [_key(o.namespace, o.pipeline, o.run, o.key) for o in found])


def get(
    connection: sa.Connection, namespace: str, pipeline: str, run: int | None, key: str
) -> objects.Object:
    """Return one object; raise NotFound naming what is missing."""
    if run is not None and run < 1:
        raise not_found(connection, namespace, pipeline, run, key)
    row = connection.execute(_GET, _key(namespace, pipeline, run, key)).first()
    if row is None:
        raise not_found(connection, namespace, pipeline, run, key)
    return to_object(row)


def list_(
    connection: sa.Connection,
    namespace: str,
    pipeline: str,
    run: int | None,
    after: str | None,
    limit: int,
) -> list[objects.Object]:
    """Return at most ``limit`` objects of a pipeline (``run`` None) or of one run ordered by
    key, those after the key ``after`` only; NotFound naming a missing namespace, pipeline or
    run."""
    if run is not None and run < 1:
        require_place(connection, namespace, pipeline, run)
    query = (
        sa.select(_O).where(_where_place(namespace, pipeline, run)).order_by(_O.c.key).limit(limit)
    )
    if after is not None:
        query = query.where(_O.c.key > after)
    found = [to_object(row) for row in connection.execute(query)]
    if not found:
        require_place(connection, namespace, pipeline, run)
    return found


def delete(
    connection: sa.Connection, namespace: str, pipeline: str, run: int | None, key: str
) -> objects.Object:
    """Delete one object and return it; raise NotFound naming what is missing."""
    if run is not None and run < 1:
        raise not_found(connection, namespace, pipeline, run, key)
    row = connection.execute(_DELETE.returning(*_O.c), _key(namespace, pipeline, run, key)).first()
    if row is None:
        raise not_found(connection, namespace, pipeline, run, key)
    return to_object(row)


def expire(
    connection: sa.Connection, namespace: str, pipeline: str, before_run: int, limit: int
) -> list[objects.Object]:
    """Delete at most ``limit`` objects of the pipeline's runs numbered below ``before_run``
    and return them, by run then key. None of the pipeline's own objects."""
    query = (
        sa.select(_O)
        .where(
            _O.c.namespace == namespace,
            _O.c.pipeline == pipeline,
            _O.c.run >= 1,
            _O.c.run < before_run,
        )
        .order_by(_O.c.run, _O.c.key)
        .limit(limit)
        .with_for_update()
    )
    expired = [to_object(row) for row in connection.execute(query)]
    _delete_all(connection, expired)
    return expired
