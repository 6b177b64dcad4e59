"""The audit history in memory, as the ``history`` table keeps it: record ids never reused."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from hostler.core import errors, history
from hostler.testing.store import columns


class Table:
    """The history records by id; call with the store's lock held."""

    def __init__(self) -> None:
        self._by_id: dict[int, history.Record] = {}
        self._last_id = 0

    def start(self, record: history.Record) -> history.Record:
        """Store ``record`` (its ``id`` ignored) and return it as stored, with its id."""
        stored = record.evolve(
            started=columns.utc(record.started),
            finished=columns.maybe_utc(record.finished),
            detail=columns.json_copy(record.detail),
        )
        self._last_id += 1
        stored = stored.evolve(id=self._last_id)
        self._by_id[stored.id] = stored
        return _copy(stored)

    def finish(
        self,
        record: int,
        finished: datetime.datetime,
        outcome: history.Outcome,
        detail: Mapping[str, Any],
        error: str | None,
    ) -> None:
        """Finish a started record, adding ``detail`` to the detail it started with; NotFound
        when there is none, FailedPrecondition when it has finished already."""
        current = self._by_id.get(record)
        if current is None:
            raise errors.NotFound(
                f"history record {record}: not found",
                field="record",
                hint="finish the record that starting the operation returned",
            )
        if current.outcome is not None:
            raise errors.FailedPrecondition(
                f"history record {record}: finished already",
                field="record",
                hint="finish each record once",
            )
        self._by_id[record] = current.evolve(
            finished=columns.utc(finished),
            outcome=outcome,
            detail=columns.json_copy({**current.detail, **detail}),
            error=error,
        )

    def list_(
        self, selected: history.Filter, after: int | None, limit: int
    ) -> list[history.Record]:
        """Return the records that pass ``selected``, newest first (``after`` is a record id)."""
        selected = dataclasses.replace(
            selected,
            since=columns.maybe_utc(selected.since),
            until=columns.maybe_utc(selected.until),
        )
        ids = sorted(
            (
                i
                for i, r in self._by_id.items()
                if (after is None or i < after) and selected.matches(r)
            ),
            reverse=True,
        )
        return [_copy(self._by_id[i]) for i in columns.limited(ids, limit)]

    def abandon(self, instance: str, finished: datetime.datetime) -> int:
        """Mark ``incomplete`` the unfinished records of server ``instance``; return how many."""
        finished = columns.utc(finished)
        abandoned = [
            i for i, r in self._by_id.items() if r.instance == instance and r.outcome is None
        ]
        for i in abandoned:
            self._by_id[i] = self._by_id[i].evolve(
                outcome=history.Outcome.INCOMPLETE, finished=finished
            )
        return len(abandoned)


def _copy(record: history.Record) -> history.Record:
    """Return ``record`` with a detail of its own (the one mutable field)."""
    return record.evolve(detail=columns.json_copy(record.detail))
