"""Namespace rows: reading and writing the ``namespaces`` table on a Connection.

Every function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hostler.core import errors, namespaces
from hostler.storage import tables

_T = tables.namespaces


def to_namespace(row: sa.Row[Any]) -> namespaces.Namespace:
    """Return the namespace stored in ``row``."""
    return namespaces.Namespace(name=row.name, description=row.description, created=row.created)


def not_found(name: str) -> errors.NotFound:
    """Return the error for a namespace that does not exist."""
    return errors.NotFound(
        f"namespace '{name}': not found",
        field="namespace",
        hint="check the name, or create the namespace first",
    )


def exists(connection: sa.Connection, name: str) -> bool:
    """Tell whether the namespace ``name`` exists."""
    found = connection.execute(sa.select(_T.c.name).where(_T.c.name == name)).first()
    return found is not None


def require(connection: sa.Connection, name: str) -> None:
    """Raise NotFound unless the namespace ``name`` exists."""
    if not exists(connection, name):
        raise not_found(name)


def create(connection: sa.Connection, namespace: namespaces.Namespace) -> namespaces.Namespace:
    """Insert ``namespace``; raise AlreadyExists if the name is taken."""
    if exists(connection, namespace.name):
        raise errors.AlreadyExists(
            f"namespace '{namespace.name}': already exists",
            field="namespace",
            hint="choose another name, or use the namespace that exists",
        )
    try:
        connection.execute(
            _T.insert().values(
                name=namespace.name,
                description=namespace.description,
                created=namespace.created,
            )
        )
    except sa.exc.IntegrityError as exc:
        # Another writer inserted the same name between our check and our insert (PostgreSQL).
        raise errors.AlreadyExists(
            f"namespace '{namespace.name}': already exists", field="namespace"
        ) from exc
    return get(connection, namespace.name)


def get(connection: sa.Connection, name: str) -> namespaces.Namespace:
    """Return the namespace ``name``; raise NotFound if there is none."""
    row = connection.execute(sa.select(_T).where(_T.c.name == name)).first()
    if row is None:
        raise not_found(name)
    return to_namespace(row)


def list_(connection: sa.Connection, after: str | None, limit: int) -> list[namespaces.Namespace]:
    """Return at most ``limit`` namespaces ordered by name, those after ``after`` only."""
    query = sa.select(_T).order_by(_T.c.name).limit(limit)
    if after is not None:
        query = query.where(_T.c.name > after)
    return [to_namespace(row) for row in connection.execute(query)]
