"""Periodic work: a daemon thread that does one piece of work at once, then every interval."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls ``work`` in a daemon thread named ``name`` between ``start`` and ``stop``: once at
    start, then every ``interval`` seconds. ``work`` handles its own failures."""

    def __init__(self, name: str, interval: float, work: Callable[[], None]) -> None:
        self._name = name
        self._interval = interval
        self._work = work
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; the first round runs at once."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for a round in progress to finish; harmless if not started."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._work()
            self._stopping.wait(self._interval)
