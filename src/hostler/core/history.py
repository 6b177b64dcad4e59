"""Audit history: a record of every mutating admin operation, written around the operation.

A record is started before the operation acts and finished after it, successful or not; a record
left unfinished by a server that stopped in between is marked ``incomplete`` when that server
starts again. ``outcome`` is None while the operation is in progress.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Sequence
from typing import Any


class Outcome(enum.StrEnum):
    """How an operation ended."""

    SUCCEEDED = "succeeded"
    UNCHANGED = "unchanged"
    """It succeeded and had nothing to do."""
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    """The server stopped before the operation finished; look at the target to see where it is."""


@dataclasses.dataclass(frozen=True)
class Record:
    """One audited operation. Immutable; ``id`` is given by the store, increasing.

    ``kind`` names the operation (``pipeline.deploy``, ``namespace.create``), ``target`` what it
    acted on (``default/hello``), ``instance`` the server that ran it. ``detail`` is JSON-compatible
    data about the request and its result; ``error`` the message of a failure.
    """

    id: int
    kind: str
    target: str
    actor: str
    instance: str
    started: datetime.datetime
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)
    finished: datetime.datetime | None = None
    outcome: Outcome | None = None
    error: str | None = None

    def evolve(self, **changes: Any) -> Record:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class Filter:
    """Which records to list: started in ``[since, until)``, of one of ``kinds`` (prefixes such as
    ``pipeline`` match ``pipeline.deploy``); empty or None means any."""

    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    kinds: Sequence[str] = ()

    def matches(self, record: Record) -> bool:
        """Tell whether ``record`` passes the filter."""
        if self.since is not None and record.started < self.since:
            return False
        if self.until is not None and record.started >= self.until:
            return False
        return not self.kinds or any(_kind_matches(record.kind, k) for k in self.kinds)


def _kind_matches(kind: str, wanted: str) -> bool:
    return kind == wanted or kind.startswith(wanted + ".")
