"""Copies a task's output from its scheduler into the log store while it runs.

One thread per running task follows the scheduler's log stream and appends lines in small
batches; ``finish`` waits for the stream to drain after the container exited, then writes the
end-of-log marker.
"""

from __future__ import annotations

import logging
import threading

from hostler.core import errors, ports

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 30.0
"""Seconds ``finish`` waits for the last lines after the container exited."""


class Collector:
    """A running copy of one container's log into the log store."""

    def __init__(self, scheduler: ports.Scheduler, logs: ports.LogStore, handle: str, key: str):
        self._scheduler = scheduler
        self._logs = logs
        self._handle = handle
        self._key = key
        self._thread = threading.Thread(target=self._copy, name=f"logs {key}", daemon=True)

    def _copy(self) -> None:
        try:
            for line in self._scheduler.logs(self._handle, follow=True):
                self._logs.append(self._key, [line])
        except errors.HostlerError:
            log.warning("task log stream broke off", extra={"log": self._key}, exc_info=True)

    def finish(self) -> None:
        """Wait for the copy to drain (the container has exited), then end the log."""
        self._thread.join(DRAIN_TIMEOUT)
        if self._thread.is_alive():
            log.warning("task log did not drain in time", extra={"log": self._key})
        self._logs.end(self._key)


def start(scheduler: ports.Scheduler, logs: ports.LogStore, handle: str, key: str) -> Collector:
    """Start copying the log of container ``handle`` into ``key``."""
    collector = Collector(scheduler, logs, handle, key)
    collector._thread.start()
    return collector
