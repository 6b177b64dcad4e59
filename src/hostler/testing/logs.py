"""MemoryLogStore: ``ports.LogStore`` in a dictionary under a lock, for unit tests above it.

It keeps the file log store's promises (``hostler.logs.files``): the same key rules, the end
marker with ``FailedPrecondition`` for an append after it, ``NotFound`` for a log never written,
offsets, limits and ``ended`` exactly as a reader paging through a file sees them, and times read
back in UTC. The log store tests run against both to prove it (``tests/unit/logs``).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import threading
from collections.abc import Sequence

from hostler.core import errors, ports

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclasses.dataclass
class _Log:
    lines: list[ports.LogLine] = dataclasses.field(default_factory=list)
    ended: bool = False


class MemoryLogStore:
    """Task logs kept in memory; implements ``hostler.core.ports.LogStore``.

    For unit tests of the layers above the log store port (engine, API), never for a server. Safe
    to share between threads; a reader sees each append whole, at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, _Log] = {}

    def append(self, key: str, lines: Sequence[ports.LogLine]) -> None:
        """Add ``lines`` at the end of the log ``key``, creating it if needed.

        Raises FailedPrecondition when the log has ended.
        """
        _check(key)
        added = [_utc(line) for line in lines]
        with self._lock:
            log = self._logs.setdefault(key, _Log())
            if log.ended:
                raise errors.FailedPrecondition(
                    f"log '{key}': has ended, nothing can be added",
                    hint="write a task's output before ending its log",
                )
            log.lines.extend(added)

    def end(self, key: str) -> None:
        """Write the end-of-log marker, creating an empty log if needed; idempotent."""
        _check(key)
        with self._lock:
            self._logs.setdefault(key, _Log()).ended = True

    def read(self, key: str, offset: int = 0, limit: int | None = None) -> ports.LogChunk:
        """Return up to ``limit`` lines from line ``offset`` on.

        ``ended`` is True only when the chunk reaches the end-of-log marker. Raises NotFound for a
        log never written.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise errors.InvalidArgument(
                f"log '{key}': offset and limit must not be negative", field="offset"
            )
        _check(key)
        with self._lock:
            log = self._logs.get(key)
            if log is None:
                raise errors.NotFound(
                    f"log '{key}': not found",
                    field="key",
                    hint="the task may not have started yet, or its log was deleted",
                )
            rest = log.lines[offset:]
            ended = log.ended and (limit is None or len(rest) <= limit)
        lines = rest if limit is None else rest[:limit]
        return ports.LogChunk(lines=lines, next_offset=offset + len(lines), ended=ended)

    def delete(self, key: str) -> None:
        """Delete the log ``key``; idempotent."""
        _check(key)
        with self._lock:
            self._logs.pop(key, None)


def _check(key: str) -> None:
    """Raise InvalidArgument for a key the file store could not use as a safe path."""
    if not key or any(not _PART.fullmatch(part) for part in key.split("/")):
        raise errors.InvalidArgument(
            f"log '{key}': not a valid log key",
            field="key",
            hint="use names of letters, digits, '_', '-' or '.' separated by '/', "
            "none of them empty, '.' or '..'",
        )


def _utc(line: ports.LogLine) -> ports.LogLine:
    """Return ``line`` with its time in UTC, a naive time taken as UTC (as the file store does)."""
    time = line.time if line.time.tzinfo is not None else line.time.replace(tzinfo=datetime.UTC)
    return dataclasses.replace(line, time=time.astimezone(datetime.UTC))
