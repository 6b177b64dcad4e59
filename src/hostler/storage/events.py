"""Event rows: the append-only ``events`` table on a Connection.

The store appends an event inside the transaction of the change it records, so the event exists if
and only if the change does. Ids come from the database (AUTOINCREMENT on SQLite) and are never
reused. SQLite lets one writer in at a time (``BEGIN IMMEDIATE``), so events commit in id order and
a reader that asks for "after id N" never misses one that commits later with a smaller id. A
database that runs writers side by side (PostgreSQL) can commit ids out of order; it will need a
lock around the append to keep that promise. Every function here runs inside the caller's
transaction; none commits.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import sqlalchemy as sa

from hostler.core import events
from hostler.storage import tables

_T = tables.events
# Built once: the engine appends an event for most of its writes.
_INSERT = _T.insert()


def to_event(row: sa.Row[Any]) -> events.Event:
    """Return the event stored in ``row``."""
    return events.Event(
        id=row.id,
        time=row.time,
        kind=row.kind,
        namespace=row.namespace,
        pipeline=row.pipeline,
        run=row.run,
        task=row.task,
        attempt=row.attempt,
        data=json.loads(row.data),
    )


def append(connection: sa.Connection, event: events.Event | None) -> None:
    """Append ``event`` to the log, where it gets the next id; None (no change) appends nothing."""
    if event is None:
        return
    connection.execute(
        _INSERT,
        {
            "time": event.time,
            "kind": event.kind,
            "namespace": event.namespace,
            "pipeline": event.pipeline,
            "run": event.run,
            "task": event.task,
            "attempt": event.attempt,
            "data": json.dumps(event.data, sort_keys=True, separators=(",", ":")),
        },
    )


def _where(selected: events.Filter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if selected.kinds:
        exact = [k for k in selected.kinds if events.family_prefix(k) is None]
        prefixes = [p for k in selected.kinds if (p := events.family_prefix(k)) is not None]
        conditions.append(
            sa.or_(
                *([_T.c.kind.in_(exact)] if exact else []),
                *(_T.c.kind.startswith(prefix, autoescape=True) for prefix in prefixes),
            )
        )
    for name in ("namespace", "pipeline", "run"):
        value = getattr(selected, name)
        if value is not None:
            conditions.append(_T.c[name] == value)
    return conditions


def list_(
    connection: sa.Connection, selected: events.Filter, after: int | None, limit: int
) -> list[events.Event]:
    """Return at most ``limit`` events that pass ``selected``, by id, those after ``after`` only."""
    query = sa.select(_T).where(*_where(selected)).order_by(_T.c.id).limit(limit)
    if after is not None:
        query = query.where(_T.c.id > after)
    return [to_event(row) for row in connection.execute(query)]


def delete(connection: sa.Connection, before: datetime.datetime) -> int:
    """Delete the events recorded before ``before``; return how many."""
    return connection.execute(_T.delete().where(_T.c.time < before)).rowcount
