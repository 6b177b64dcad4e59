"""Timers: callbacks run at given times on one background thread, cancellable by key.

Interval and cron triggers need exactly this: fire at a time, then at the next one, until the
subscription ends. A callback returns the time it should run next (or None to stop), so that
repeating needs no rescheduling call that could race with a cancel::

    def fire() -> datetime.datetime | None:
        self.start_run(sub.namespace, sub.pipeline)
        return timers.now() + datetime.timedelta(seconds=30)

    self.timers.at(sub.id, timers.now(), fire)
    ...
    self.timers.cancel(sub.id)  # no callback of sub.id starts after this returns

Callbacks run one at a time, in the order of their times, on the timers' thread: a slow callback
delays the others, so hand long work to a thread of its own.
"""

from __future__ import annotations

import dataclasses
import datetime
import heapq
import itertools
import logging
import threading
from collections.abc import Callable

Callback = Callable[[], "datetime.datetime | None"]
"""A timer's work; it returns when to run again, or None to stop."""

Clock = Callable[[], datetime.datetime]
"""Returns the current time, timezone-aware."""

_log = logging.getLogger(__name__)


def now() -> datetime.datetime:
    """Return the current time in UTC, timezone-aware."""
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(order=True)
class _Entry:
    when: datetime.datetime
    seq: int
    key: str = dataclasses.field(compare=False)
    epoch: int = dataclasses.field(compare=False)
    callback: Callback = dataclasses.field(compare=False)


class Timers:
    """Runs callbacks at given times on one background thread; each timer has a key (a
    subscription's id) and ``cancel`` drops every timer of a key.

    ``clock`` returns the current time (tests pass a controllable one and call ``wake`` after
    moving it). The thread re-reads the clock at least every ``max_sleep`` seconds, so that a
    change of the system's clock delays no timer longer than that. The thread starts with the
    first timer; ``close`` stops it.
    """

    def __init__(
        self,
        *,
        clock: Clock = now,
        log: logging.Logger | None = None,
        max_sleep: float = 1.0,
    ) -> None:
        self._clock = clock
        self._log = log or _log
        self._max_sleep = max_sleep
        self._heap: list[_Entry] = []
        # The epoch of each key with timers: a callback re-arms only if its key's epoch is still
        # the one it was set under. Epochs are never reused, so a key's entry can go as soon as
        # it has no timer (a cancelled or ended key leaves nothing behind).
        self._epochs: dict[str, int] = {}
        self._epoch_seq = itertools.count()
        self._seq = itertools.count()
        self._changed = threading.Condition()
        self._running: _Entry | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def now(self) -> datetime.datetime:
        """Return the current time of this timers' clock."""
        return self._clock()

    def at(self, key: str, when: datetime.datetime, callback: Callback) -> None:
        """Run ``callback`` at ``when`` (timezone-aware; a past time means at once) under ``key``.

        A key may hold several timers; timers due at the same time run in the order they were
        set. An exception in a callback is logged, and that timer ends.
        """
        if when.tzinfo is None:
            raise ValueError(f"timer '{key}': time {when.isoformat()} has no timezone")
        with self._changed:
            if self._closed:
                raise RuntimeError(f"timer '{key}': the timers are closed")
            epoch = self._epochs.setdefault(key, next(self._epoch_seq))
            heapq.heappush(self._heap, _Entry(when, next(self._seq), key, epoch, callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="timers", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def cancel(self, key: str) -> None:
        """Drop every timer of ``key``. When this returns, no callback of ``key`` runs and none
        will; a callback running meanwhile finishes, and its next time is ignored."""
        with self._changed:
            self._epochs.pop(key, None)
            self._heap = [entry for entry in self._heap if entry.key != key]
            heapq.heapify(self._heap)
            if threading.current_thread() is not self._thread:
                while self._running is not None and self._running.key == key:
                    self._changed.wait()
            self._changed.notify_all()

    def pending(self, key: str) -> list[datetime.datetime]:
        """Return the times the timers of ``key`` will run at, earliest first."""
        with self._changed:
            return sorted(entry.when for entry in self._heap if entry.key == key)

    def wake(self) -> None:
        """Make the thread read the clock again now (after a test moved its clock)."""
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        """Drop every timer and stop the thread, once a callback running meanwhile finishes."""
        with self._changed:
            self._closed = True
            self._heap.clear()
            self._epochs.clear()
            self._changed.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _next_due(self) -> _Entry | None:
        """Wait for the earliest timer to be due and return it; None once closed."""
        with self._changed:
            while not self._closed:
                if self._heap:
                    wait = (self._heap[0].when - self._clock()).total_seconds()
                    if wait <= 0:
                        entry = heapq.heappop(self._heap)
                        self._running = entry
                        return entry
                    self._changed.wait(min(wait, self._max_sleep))
                else:
                    self._changed.wait()
            return None

    def _loop(self) -> None:
        while (entry := self._next_due()) is not None:
            following: datetime.datetime | None = None
            try:
                following = entry.callback()
            except Exception:
                self._log.exception("timer failed", extra={"timer": entry.key})
            with self._changed:
                self._running = None
                current = self._epochs.get(entry.key) == entry.epoch
                if following is not None and current and not self._closed:
                    if following.tzinfo is None:
                        self._log.error(
                            "timer ended: its next time has no timezone",
                            extra={"timer": entry.key, "next": following.isoformat()},
                        )
                    else:
                        seq = next(self._seq)
                        heapq.heappush(
                            self._heap,
                            _Entry(following, seq, entry.key, entry.epoch, entry.callback),
                        )
                if current and not any(other.key == entry.key for other in self._heap):
                    del self._epochs[entry.key]  # its last timer ended
                self._changed.notify_all()
