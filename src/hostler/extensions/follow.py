"""Following one pipeline's runs by polling the API: what the ``pipeline`` trigger and the
``notify`` notifier share.

A ``Follower`` lists the newest complete runs of one pipeline (``WINDOW`` of them) each time its
extension calls ``poll``, from the one timer callback of a subscription, every ``POLL`` seconds.
The first listing is the baseline: the runs complete then are not told. Each later poll tells
the runs that became complete since, each once, oldest first by id. It remembers only the ids of
the last listing, so its memory is bounded; a run that completes below that window (more than
``WINDOW`` newer runs completed before it) is never told.

A pipeline that does not exist (404) has no runs: its baseline is empty, and once it is created
each run of it that completes is told. Any other failure to list (Hostler unreachable, a refusal)
keeps what the follower knows, so that the runs that completed meanwhile are told once the
listing works again. A failure is logged once per change of condition, not at every poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hostler.sdk import client

POLL = 1.0
"""Seconds between two polls of a followed pipeline, unless an extension says otherwise."""

WINDOW = 100
"""How many of a pipeline's newest runs one listing returns."""

Run = Mapping[str, Any]
"""A run as the API answers it (``namespace``, ``pipeline``, ``id``, ``state``, ``status``, ...)."""

_Trouble = tuple[int, str]
"""Why listing failed: the answer's status (0: no answer) and error code."""


def run_ids(runs: Iterable[Run]) -> list[int]:
    """Return the ids of ``runs`` that have an integer id, in their order."""
    return [run["id"] for run in runs if isinstance(run.get("id"), int)]


class Follower:
    """Tells the runs of pipeline ``namespace/pipeline`` that become complete, each once.

    Not thread-safe: one timer callback at a time calls it. ``log`` is the extension's logger;
    ``where`` are fields added to each record (the subscription's id, say).
    """

    def __init__(
        self,
        api: client.Client,
        namespace: str,
        pipeline: str,
        *,
        log: logging.Logger,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.pipeline = pipeline
        self.log = log
        self.where = {"namespace": namespace, "pipeline": pipeline, **(where or {})}
        self.runs: list[Run] = []
        """The newest complete runs at the last successful poll, newest first."""
        self.baselined = False
        """Whether a poll has taken the baseline yet."""
        self._known: set[int] = set()
        self._floor = 0  # runs below it are out of the window: never told
        self._trouble: _Trouble | None = None

    @property
    def floor(self) -> int:
        """Return the lowest run id the window reaches: runs below it are never told."""
        return self._floor

    def ref(self, run: Run) -> str:
        """Return ``NAMESPACE/PIPELINE#ID``, how people and run variables name ``run``."""
        return f"{self.namespace}/{self.pipeline}#{run.get('id')}"

    def poll(self) -> list[Run]:
        """Return the runs that became complete since the last poll, oldest first by id; none
        at the first successful poll, which takes the baseline, nor when listing fails."""
        page = self._list(["complete"])
        if page is None:
            return []
        runs = sorted(
            (run for run in page if isinstance(run.get("id"), int)),
            key=lambda run: int(run["id"]),
            reverse=True,
        )
        told = [
            run
            for run in reversed(runs)
            if self.baselined and run["id"] not in self._known and run["id"] >= self._floor
        ]
        self.runs = runs
        self._known = set(run_ids(runs))
        self._floor = runs[-1]["id"] if len(runs) >= WINDOW else 0
        self.baselined = True
        return told

    def running(self) -> list[Run]:
        """Return the pipeline's runs that are running now, oldest first; none when there are
        none or they cannot be listed (logged as ``poll`` logs)."""
        page = self._list(["running"])
        if page is None:
            return []
        return sorted(
            (run for run in page if isinstance(run.get("id"), int)), key=lambda run: run["id"]
        )

    def _list(self, states: Sequence[str]) -> list[Run] | None:
        """Return the newest runs in ``states``, none when the pipeline does not exist; None when
        they could not be listed."""
        try:
            page = self.api.list_runs(self.namespace, self.pipeline, state=states, limit=WINDOW)
        except client.ApiError as exc:
            self._condition((exc.status, exc.code), exc.detail)
            # No pipeline, no runs: whatever completes once it exists is new.
            return [] if exc.status == 404 else None
        items = page.get("items") if isinstance(page, Mapping) else None
        if not isinstance(items, list):
            self._condition((200, "garbled"), "the answer is not a page of runs")
            return None
        self._condition(None, "")
        return [run for run in items if isinstance(run, Mapping)]

    def _condition(self, trouble: _Trouble | None, detail: str) -> None:
        """Log a change of condition: a new kind of failure to list, or listing working again."""
        if trouble == self._trouble:
            return
        self._trouble = trouble
        if trouble is None:
            self.log.info("following runs again", extra=self.where)
        elif trouble[0] == 404:
            self.log.warning("followed pipeline not found", extra={**self.where, "detail": detail})
        else:
            status, code = trouble
            self.log.warning(
                "runs not listed",
                extra={**self.where, "status": status, "code": code, "detail": detail},
            )
