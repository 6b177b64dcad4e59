"""Events in memory, as the ``events`` table keeps them: appended with ids never reused."""

from __future__ import annotations

import dataclasses
import datetime

from hostler.core import events
from hostler.testing.store import columns


class Table:
    """The events in the order of their ids; call with the store's lock held."""

    def __init__(self) -> None:
        self._events: list[events.Event] = []
        self._last_id = 0

    def append(self, event: events.Event | None) -> None:
        """Append ``event`` with the next id, as the SQL store does; nothing for None."""
        if event is None:
            return
        self._last_id += 1
        stored = dataclasses.replace(event, id=self._last_id, data=columns.json_copy(event.data))
        self._events.append(stored)

    def list_(self, selected: events.Filter, after: int | None, limit: int) -> list[events.Event]:
        """Return at most ``limit`` events that pass ``selected``, by id, after the id ``after``."""
        found = [e for e in self._events if (after is None or e.id > after) and selected.matches(e)]
        return [
            dataclasses.replace(e, data=columns.json_copy(e.data))
            for e in columns.limited(found, limit)
        ]

    def delete(self, before: datetime.datetime) -> int:
        """Delete the events recorded before ``before``; return how many."""
        before = columns.utc(before)
        kept = [e for e in self._events if e.time >= before]
        deleted = len(self._events) - len(kept)
        self._events = kept
        return deleted
