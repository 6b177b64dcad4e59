"""Housekeeping: the periodic work that keeps the stored state within its limits.

Today that is the event log's retention: events older than ``events.retention`` are deleted.
``Housekeeper`` does it in a daemon thread, once at start and then every ``interval`` seconds; a
failed round is logged and tried again at the next one.
"""

from __future__ import annotations

import datetime
import logging
import threading

from hostler.core import errors
from hostler.services.context import Context

_log = logging.getLogger(__name__)

INTERVAL_SECONDS = 300.0
"""Seconds between two rounds of housekeeping."""


def prune_events(ctx: Context, retention: float | None) -> int:
    """Delete the events older than ``retention`` seconds (None: keep them all); return how many."""
    if retention is None:
        return 0
    return ctx.store.delete_events(ctx.clock() - datetime.timedelta(seconds=retention))


class Housekeeper:
    """Runs housekeeping in a daemon thread between ``start`` and ``stop``."""

    def __init__(
        self, ctx: Context, *, retention: float | None, interval: float = INTERVAL_SECONDS
    ) -> None:
        self._ctx = ctx
        self._retention = retention
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; its first round runs at once."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="hostler-housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for a round in progress to finish."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def run_once(self) -> None:
        """Do one round of housekeeping; log a failure instead of raising it."""
        try:
            pruned = prune_events(self._ctx, self._retention)
        except errors.HostlerError as exc:
            _log.warning("event pruning failed", extra={"error": exc.message})
            return
        if pruned:
            _log.info("old events deleted", extra={"count": pruned})

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self._interval)
