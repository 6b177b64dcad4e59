"""Named locks in memory, as the ``locks`` table keeps them: they expire at the same instant."""

from __future__ import annotations

import dataclasses
import datetime

from hostler.testing.store import columns


@dataclasses.dataclass(frozen=True)
class _Lock:
    """A named lock as the ``locks`` table keeps it."""

    holder: str
    acquired: datetime.datetime
    expires: datetime.datetime


class Table:
    """The locks held or left to expire, by name; call with the store's lock held."""

    def __init__(self) -> None:
        self._by_name: dict[str, _Lock] = {}

    def acquire(
        self, name: str, holder: str, now: datetime.datetime, expires: datetime.datetime
    ) -> str | None:
        """Take the lock ``name`` for ``holder`` until ``expires`` unless someone else holds it
        unexpired at ``now``; return None when taken, else the current holder."""
        now, expires = columns.utc(now), columns.utc(expires)
        current = self._by_name.get(name)
        if current is not None and current.holder != holder and current.expires > now:
            return current.holder
        self._by_name[name] = _Lock(holder, now, expires)
        return None

    def release(self, name: str, holder: str) -> None:
        """Release the lock ``name`` if ``holder`` holds it; nothing otherwise."""
        current = self._by_name.get(name)
        if current is not None and current.holder == holder:
            del self._by_name[name]
