"""Subscription rows: the ``subscriptions`` table on a Connection, for the subscriptions made by
hand (those of a pipeline's file live in its versions).

A subscription's settings are kept as JSON text with sorted keys, so that equal settings are
stored as equal text. Subscriptions are created and deleted, never changed. Every function here
runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, subscriptions
from hostler.storage import pipelines as pipeline_rows
from hostler.storage import tables

_S = tables.subscriptions
_KEY = ("namespace", "pipeline", "key")
_GET = sa.select(_S).where(tables.where_key(_S, _KEY))
_DELETE = _S.delete().where(tables.where_key(_S, _KEY))
_ORDER = (_S.c.namespace, _S.c.pipeline, _S.c.key)


def to_subscription(row: sa.Row[Any]) -> subscriptions.Manual:
    """Return the subscription stored in ``row``."""
    return subscriptions.Manual(
        namespace=row.namespace,
        pipeline=row.pipeline,
        key=row.key,
        extension=row.extension,
        settings=settings_from_json(row.settings),
        created=row.created,
        created_by=row.created_by,
    )


def settings_to_json(settings: Mapping[str, Any]) -> str:
    """Return ``settings`` as the JSON text the ``settings`` column holds."""
    return json.dumps(dict(settings), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def settings_from_json(text: str) -> dict[str, Any]:
    """Return the settings kept as ``text`` by ``settings_to_json``."""
    settings: dict[str, Any] = json.loads(text)
    return settings


def _key(namespace: str, pipeline: str, key: str) -> dict[str, str]:
    return {"k_namespace": namespace, "k_pipeline": pipeline, "k_key": key}


def create(connection: sa.Connection, subscription: subscriptions.Manual) -> subscriptions.Manual:
    """Insert ``subscription`` and return it as stored; raise NotFound naming the namespace or
    pipeline missing, AlreadyExists if its key is taken."""
    sub = subscription
    pipeline_rows.require(connection, sub.namespace, sub.pipeline)
    if connection.execute(_GET, _key(sub.namespace, sub.pipeline, sub.key)).first():
        raise subscriptions.already_exists(sub.namespace, sub.pipeline, sub.key)
    try:
        # A savepoint, so that a lost race is told apart without aborting the transaction.
        with connection.begin_nested():
            row = connection.execute(
                _S.insert()
                .values(
                    namespace=sub.namespace,
                    pipeline=sub.pipeline,
                    key=sub.key,
                    extension=sub.extension,
                    settings=settings_to_json(sub.settings),
                    created=sub.created,
                    created_by=sub.created_by,
                )
                .returning(*_S.c)
            ).one()
    except sa.exc.IntegrityError as exc:
        # Another writer inserted the same key between our check and our insert (PostgreSQL).
        raise subscriptions.already_exists(sub.namespace, sub.pipeline, sub.key) from exc
    return to_subscription(row)


def get(connection: sa.Connection, namespace: str, pipeline: str, key: str) -> subscriptions.Manual:
    """Return one subscription; raise NotFound naming what is missing."""
    row = connection.execute(_GET, _key(namespace, pipeline, key)).first()
    if row is None:
        raise not_found(connection, namespace, pipeline, key)
    return to_subscription(row)


def not_found(
    connection: sa.Connection, namespace: str, pipeline: str, key: str
) -> errors.NotFound:
    """Return the error for a missing subscription, naming its namespace or pipeline if that
    is what is missing."""
    pipeline_rows.require(connection, namespace, pipeline)
    return subscriptions.not_found(namespace, pipeline, key)


def list_(
    connection: sa.Connection, namespace: str, pipeline: str, after: str | None, limit: int
) -> list[subscriptions.Manual]:
    """Return at most ``limit`` subscriptions of the pipeline ordered by key, those after the
    key ``after`` only; NotFound naming a missing namespace or pipeline."""
    query = (
        sa.select(_S)
        .where(_S.c.namespace == namespace, _S.c.pipeline == pipeline)
        .order_by(_S.c.key)
        .limit(limit)
    )
    if after is not None:
        query = query.where(_S.c.key > after)
    found = [to_subscription(row) for row in connection.execute(query)]
    if not found:
        pipeline_rows.require(connection, namespace, pipeline)
    return found


def list_all(
    connection: sa.Connection, after: tuple[str, str, str] | None, limit: int
) -> list[subscriptions.Manual]:
    """Return at most ``limit`` subscriptions of every pipeline ordered by namespace, pipeline
    and key, those after the triple ``after`` only."""
    query = sa.select(_S).order_by(*_ORDER).limit(limit)
    if after is not None:
        query = query.where(sa.tuple_(*_ORDER) > sa.tuple_(*after))
    return [to_subscription(row) for row in connection.execute(query)]


def delete(connection: sa.Connection, namespace: str, pipeline: str, key: str) -> None:
    """Delete one subscription; raise NotFound naming what is missing."""
    if not connection.execute(_DELETE, _key(namespace, pipeline, key)).rowcount:
        raise not_found(connection, namespace, pipeline, key)
