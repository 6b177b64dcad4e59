"""Copies a task's output from its scheduler into the log store while it runs.

One thread per running task follows the scheduler's log stream and appends each line as it comes;
``finish`` waits for the stream to drain after the container exited, then writes the end-of-log
marker. After a restart, ``resume`` picks the copy up where the stored log ends: it asks the
scheduler for the lines from the time of the last stored line on, and leaves out those already
stored (the lines carrying that same time that the log already holds), so that no line is lost or
doubled. Each line is masked (``core.secrets``) before it is stored: what a task prints of its
secrets is never stored, so never streamed either.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
from collections.abc import Iterator

from hostler.core import errors, ports, secrets

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 30.0
"""Seconds ``finish`` waits for the last lines after the container exited."""


class Collector:
    """A running copy of one container's log into the log store."""

    def __init__(
        self,
        scheduler: ports.Scheduler,
        logs: ports.LogStore,
        handle: str,
        key: str,
        since: datetime.datetime | None = None,
        skip: int = 0,
        masker: secrets.Masker = secrets.NO_MASK,
    ):
        self._scheduler = scheduler
        self._logs = logs
        self._handle = handle
        self._key = key
        self._since = since
        self._skip = skip
        self._masker = masker
        self._thread = threading.Thread(target=self._copy, name=f"logs {key}", daemon=True)

    def _copy(self) -> None:
        try:
            for line in self._new_lines():
                if self._masker:
                    line = dataclasses.replace(line, text=self._masker.mask(line.text))
                self._logs.append(self._key, [line])
        except errors.HostlerError:
            log.warning("task log stream broke off", extra={"log": self._key}, exc_info=True)

    def _new_lines(self) -> Iterator[ports.LogLine]:
        skip = self._skip
        for line in self._scheduler.logs(self._handle, follow=True, since=self._since):
            if self._since is not None and line.time <= self._since and skip > 0:
                skip -= 1
                continue
            yield line

    def finish(self) -> None:
        """Wait for the copy to drain (the container has exited), then end the log."""
        if self._thread.ident is not None:
            self._thread.join(DRAIN_TIMEOUT)
        if self._thread.is_alive():
            log.warning("task log did not drain in time", extra={"log": self._key})
        self._logs.end(self._key)


def start(
    scheduler: ports.Scheduler,
    logs: ports.LogStore,
    handle: str,
    key: str,
    masker: secrets.Masker = secrets.NO_MASK,
) -> Collector:
    """Start copying the log of container ``handle`` into ``key``, masked by ``masker``."""
    collector = Collector(scheduler, logs, handle, key, masker=masker)
    collector._thread.start()
    return collector


def resume(
    scheduler: ports.Scheduler,
    logs: ports.LogStore,
    handle: str,
    key: str,
    masker: secrets.Masker = secrets.NO_MASK,
) -> Collector:
    """Start copying the rest of the log of container ``handle`` into ``key``, after a restart."""
    try:
        stored = logs.read(key)
    except errors.NotFound:
        stored = ports.LogChunk([], 0, ended=False)
    since, skip = _tail(stored.lines)
    collector = Collector(scheduler, logs, handle, key, since=since, skip=skip, masker=masker)
    if not stored.ended:  # else the whole output was stored before the restart
        collector._thread.start()
    return collector


def _tail(lines: list[ports.LogLine]) -> tuple[datetime.datetime | None, int]:
    """Return the time of the last line and how many lines carry that time."""
    if not lines:
        return None, 0
    last = lines[-1].time
    same = 0
    for line in reversed(lines):
        if line.time != last:
            break
        same += 1
    return last, same
