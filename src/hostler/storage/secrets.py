"""Secret rows: the ``secrets`` table on a Connection.

A secret is found by its place (``''`` for a global secret, ``NAMESPACE/PIPELINE`` for a
pipeline's) and its name. Its value is stored as the cipher left it, with the name of the key;
the store never sees a plaintext. Putting a secret replaces one of that name in that place whole,
but for its creation time, and counts its revision up. Every function here runs inside the
caller's transaction; none commits.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, secrets
from hostler.storage import pipelines as pipeline_rows
from hostler.storage import tables

_S = tables.secrets
_KEY = ("place", "name")
_REPLACED = ("ciphertext", "key", "namespaces", "updated")
_REPLACE = (
    _S.update()
    .where(tables.where_key(_S, _KEY))
    .values(
        {
            _S.c.revision: _S.c.revision + 1,
            **{_S.c[name]: sa.bindparam(f"v_{name}", type_=_S.c[name].type) for name in _REPLACED},
        }
    )
    .returning(*_S.c)
)


def place_of(namespace: str | None, pipeline: str | None) -> str:
    """Return the key of the place ``namespace`` and ``pipeline`` name: ``''`` when both are
    None (the global secrets); InvalidArgument when only one is."""
    if namespace is None and pipeline is None:
        return ""
    if namespace is None or pipeline is None:
        raise errors.InvalidArgument(
            f"secrets: namespace {_quoted(namespace)} with pipeline {_quoted(pipeline)}: "
            "not a place",
            field="namespace" if namespace is None else "pipeline",
            hint="give both a namespace and a pipeline for a pipeline's secrets, "
            "neither for the global ones",
        )
    return f"{namespace}/{pipeline}"


def _quoted(value: str | None) -> str:
    return "none" if value is None else f"'{value}'"


def to_secret(row: sa.Row[Any]) -> secrets.Secret:
    """Return the secret stored in ``row``."""
    return secrets.Secret(
        namespace=row.namespace,
        pipeline=row.pipeline,
        name=row.name,
        # bytes whatever the driver gives (psycopg2 hands memoryview out).
        ciphertext=bytes(row.ciphertext),
        key=row.key,
        created=row.created,
        updated=row.updated,
        namespaces=tuple(json.loads(row.namespaces)),
        revision=row.revision,
    )


def _replaced(secret: secrets.Secret) -> dict[str, Any]:
    """Return the values of the columns a replacement writes."""
    return {
        "ciphertext": bytes(secret.ciphertext),
        "key": secret.key,
        "namespaces": json.dumps(list(secret.namespaces), separators=(",", ":")),
        "updated": secret.updated,
    }


def not_found(
    connection: sa.Connection, namespace: str | None, pipeline: str | None, name: str
) -> errors.NotFound:
    """Return the error for a missing secret, naming its namespace or pipeline if missing."""
    if namespace is None or pipeline is None:
        subject = f"global secret '{name}'"
    else:
        pipeline_rows.require(connection, namespace, pipeline)
        subject = f"secret '{name}' of pipeline '{namespace}/{pipeline}'"
    return errors.NotFound(
        f"{subject}: not found", field="secret", hint="list the secrets to see which exist"
    )


def put(connection: sa.Connection, secret: secrets.Secret) -> secrets.Secret:
    """Store ``secret``, replacing one of its name in its place (whose ``created`` it keeps,
    counting the revision up) or inserting it at revision 1; return it as stored.

    NotFound naming the namespace or pipeline of a pipeline's secret when that does not exist.
    """
    place = place_of(secret.namespace, secret.pipeline)
    if secret.namespace is not None and secret.pipeline is not None:
        pipeline_rows.require(connection, secret.namespace, secret.pipeline)
    replace = {"k_place": place, "k_name": secret.name, **tables.params("v_", _replaced(secret))}
    row = connection.execute(_REPLACE, replace).first()
    if row is None:
        try:
            # A savepoint, so that a lost race is told apart below without aborting the
            # transaction.
            with connection.begin_nested():
                row = connection.execute(
                    _S.insert()
                    .values(
                        place=place,
                        name=secret.name,
                        namespace=secret.namespace,
                        pipeline=secret.pipeline,
                        created=secret.created,
                        revision=1,
                        **_replaced(secret),
                    )
                    .returning(*_S.c)
                ).one()
        except sa.exc.IntegrityError:
            # Another writer inserted the same secret between our update and our insert
            # (PostgreSQL): replace theirs, as if ours had come second.
            row = connection.execute(_REPLACE, replace).first()
            if row is None:
                raise
    return to_secret(row)


def get(
    connection: sa.Connection, namespace: str | None, pipeline: str | None, name: str
) -> secrets.Secret:
    """Return one secret; raise NotFound naming what is missing."""
    place = place_of(namespace, pipeline)
    row = connection.execute(sa.select(_S).where(_S.c.place == place, _S.c.name == name)).first()
    if row is None:
        raise not_found(connection, namespace, pipeline, name)
    return to_secret(row)


def list_(
    connection: sa.Connection,
    namespace: str | None,
    pipeline: str | None,
    after: str | None,
    limit: int,
) -> list[secrets.Secret]:
    """Return at most ``limit`` secrets of a pipeline (or the global ones) ordered by name, those
    after the name ``after`` only; NotFound naming a missing namespace or pipeline."""
    place = place_of(namespace, pipeline)
    query = sa.select(_S).where(_S.c.place == place).order_by(_S.c.name).limit(limit)
    if after is not None:
        query = query.where(_S.c.name > after)
    found = [to_secret(row) for row in connection.execute(query)]
    if not found and namespace is not None and pipeline is not None:
        pipeline_rows.require(connection, namespace, pipeline)
    return found


def list_not_under(connection: sa.Connection, key: str, limit: int) -> list[secrets.Secret]:
    """Return at most ``limit`` secrets, of any place, encrypted under another key than ``key``:
    the global ones first, then by pipeline, each by name."""
    query = sa.select(_S).where(_S.c.key != key).order_by(_S.c.place, _S.c.name).limit(limit)
    return [to_secret(row) for row in connection.execute(query)]


def delete(
    connection: sa.Connection, namespace: str | None, pipeline: str | None, name: str
) -> None:
    """Delete one secret; raise NotFound naming what is missing."""
    place = place_of(namespace, pipeline)
    deleted = connection.execute(_S.delete().where(_S.c.place == place, _S.c.name == name))
    if not deleted.rowcount:
        raise not_found(connection, namespace, pipeline, name)
