"""Lock rows: the ``locks`` table on a Connection, one row per lock held or left to expire.

Taking a lock is one write transaction: on SQLite it holds the database's write lock from its
first statement (``BEGIN IMMEDIATE``), so two processes that want the same lock take turns. On a
database that runs writers side by side, the primary key settles two first inserts, and the loser
reads who won. Every function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa

from hostler.core import errors
from hostler.storage import tables

_L = tables.locks


def acquire(
    connection: sa.Connection,
    name: str,
    holder: str,
    now: datetime.datetime,
    expires: datetime.datetime,
) -> str | None:
    """Take the lock ``name`` for ``holder`` until ``expires`` unless another holder has it
    unexpired at ``now``; return None when taken, else the holder that has it."""
    values = {"holder": holder, "acquired": now, "expires": expires}
    # Take it over when it is ours already or has expired; the comparison binds ``now`` first,
    # so a naive time is refused before anything is decided.
    taken = connection.execute(
        _L.update()
        .where(_L.c.name == name, sa.or_(_L.c.holder == holder, _L.c.expires <= now))
        .values(**values)
    ).rowcount
    if taken:
        return None
    current = _holder(connection, name)
    if current is not None:
        return current
    try:
        with connection.begin_nested():
            connection.execute(_L.insert().values(name=name, **values))
    except sa.exc.IntegrityError:
        # Another transaction inserted it first (possible only where writers run side by side).
        current = _holder(connection, name)
        if current is None:
            raise errors.Conflict(
                f"lock '{name}': taken and released by someone else at the same time",
                hint="retry",
            ) from None
        return None if current == holder else current
    return None


def _holder(connection: sa.Connection, name: str) -> str | None:
    return connection.execute(sa.select(_L.c.holder).where(_L.c.name == name)).scalar()


def release(connection: sa.Connection, name: str, holder: str) -> None:
    """Delete the lock ``name`` if ``holder`` has it; do nothing otherwise."""
    connection.execute(_L.delete().where(_L.c.name == name, _L.c.holder == holder))
