"""Audit history rows: the ``history`` table on a Connection.

A record is inserted when an operation starts and finished once, when it ends; ``detail`` is kept
as JSON text. Ids come from the database (AUTOINCREMENT on SQLite) and are never reused. Every
function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from hostler.core import errors, history
from hostler.storage import tables

_H = tables.history


def to_record(row: sa.Row[Any]) -> history.Record:
    """Return the record stored in ``row``."""
    return history.Record(
        id=row.id,
        kind=row.kind,
        target=row.target,
        actor=row.actor,
        instance=row.instance,
        started=row.started,
        detail=json.loads(row.detail),
        finished=row.finished,
        outcome=None if row.outcome is None else history.Outcome(row.outcome),
        error=row.error,
    )


def to_json(detail: Mapping[str, Any]) -> str:
    """Return ``detail`` as the JSON text the ``detail`` column holds."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"))


def not_found(record: int) -> errors.NotFound:
    """Return the error for a record that does not exist."""
    return errors.NotFound(
        f"history record {record}: not found",
        field="record",
        hint="finish the record that starting the operation returned",
    )


def finished_already(record: int) -> errors.FailedPrecondition:
    """Return the error for finishing a record a second time."""
    return errors.FailedPrecondition(
        f"history record {record}: finished already",
        field="record",
        hint="finish each record once",
    )


def start(connection: sa.Connection, record: history.Record) -> history.Record:
    """Insert ``record`` with the next id and return it as stored."""
    row = connection.execute(
        _H.insert()
        .values(
            kind=record.kind,
            target=record.target,
            actor=record.actor,
            instance=record.instance,
            started=record.started,
            finished=record.finished,
            outcome=None if record.outcome is None else record.outcome.value,
            detail=to_json(record.detail),
            error=record.error,
        )
        .returning(*_H.c)
    ).one()
    return to_record(row)


def finish(
    connection: sa.Connection,
    record: int,
    finished: datetime.datetime,
    outcome: history.Outcome,
    detail: Mapping[str, Any],
    error: str | None,
) -> None:
    """Give a started record its end, outcome and error, and add ``detail`` to its detail.

    Raises NotFound for a record that does not exist, FailedPrecondition for one that has an
    outcome already.
    """
    row = connection.execute(sa.select(_H.c.outcome, _H.c.detail).where(_H.c.id == record)).first()
    if row is None:
        raise not_found(record)
    if row.outcome is not None:
        raise finished_already(record)
    connection.execute(
        _H.update()
        .where(_H.c.id == record)
        .values(
            finished=finished,
            outcome=outcome.value,
            detail=to_json({**json.loads(row.detail), **detail}),
            error=error,
        )
    )


def _where(selected: history.Filter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if selected.since is not None:
        conditions.append(_H.c.started >= selected.since)
    if selected.until is not None:
        conditions.append(_H.c.started < selected.until)
    if selected.kinds:
        conditions.append(
            sa.or_(
                *(
                    sa.or_(_H.c.kind == kind, _H.c.kind.startswith(kind + ".", autoescape=True))
                    for kind in selected.kinds
                )
            )
        )
    return conditions


def list_(
    connection: sa.Connection, selected: history.Filter, after: int | None, limit: int
) -> list[history.Record]:
    """Return at most ``limit`` records that pass ``selected``, newest first, older than
    ``after``."""
    query = sa.select(_H).where(*_where(selected)).order_by(_H.c.id.desc()).limit(limit)
    if after is not None:
        query = query.where(_H.c.id < after)
    return [to_record(row) for row in connection.execute(query)]


def abandon(connection: sa.Connection, instance: str, finished: datetime.datetime) -> int:
    """Mark ``incomplete`` the records of ``instance`` without an outcome; return how many."""
    return connection.execute(
        _H.update()
        .where(_H.c.instance == instance, _H.c.outcome.is_(None))
        .values(outcome=history.Outcome.INCOMPLETE.value, finished=finished)
    ).rowcount
