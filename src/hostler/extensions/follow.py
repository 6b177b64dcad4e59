"""Following one pipeline's runs by polling the API: what the ``pipeline`` trigger and the
``notify`` notifier share.

A ``Follower`` lists the newest complete runs of one pipeline (``WINDOW`` of them) each time its
extension calls ``poll``, from the one timer callback of a subscription, every ``POLL`` seconds.
The first listing is the baseline: the runs complete then are not told. Each later poll tells
the runs that became complete since, each once, oldest first by id; while a whole page of runs
is new (a burst of more than ``WINDOW`` completions between two polls), it reads the next page
too, up to ``PAGES`` pages. It remembers only the ids of the last listing, so its memory is
bounded; a run that completes below that window (more newer runs completed before it than the
pages read) is never told.

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

PAGES = 10
"""The most pages of ``WINDOW`` runs one poll reads, while every run of a page is new."""

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
        listed = self._list(["complete"])
        if listed is None:
            return []
        page, cursor = listed
        runs = _newest_first(page)
        read, full = list(runs), len(page) >= WINDOW
        # A page of new runs only: more may have completed below it since the last poll.
        for _ in range(PAGES - 1):
            if not (self.baselined and cursor and full and self._all_new(read[-WINDOW:])):
                break
            more = self._list(["complete"], cursor)
            if more is None:
                return []  # told next time, with the rest
            page, cursor = more
            read.extend(_newest_first(page))
            full = len(page) >= WINDOW
        told = [
            run
            for run in reversed(read)
            if self.baselined and run["id"] not in self._known and run["id"] >= self._floor
        ]
        self.runs = runs
        self._known = set(run_ids(read))
        self._floor = read[-1]["id"] if full and read else 0
        self.baselined = True
        return told

    def _all_new(self, runs: list[Run]) -> bool:
        return all(run["id"] not in self._known and run["id"] >= self._floor for run in runs)

    def running(self) -> list[Run]:
        """Return the pipeline's runs that are running now, oldest first; none when there are
        none or they cannot be listed (logged as ``poll`` logs)."""
        listed = self._list(["running"])
        if listed is None:
            return []
        return list(reversed(_newest_first(listed[0])))

    def _list(
        self, states: Sequence[str], cursor: str | None = None
    ) -> tuple[list[Run], str | None] | None:
        """Return one page of the newest runs in ``states`` (after ``cursor``) and the cursor of
        the next; none when the pipeline does not exist; None when they could not be listed."""
        try:
            page = self.api.list_runs(
                self.namespace, self.pipeline, state=states, cursor=cursor, limit=WINDOW
            )
        except client.ApiError as exc:
            self._condition((exc.status, exc.code), exc.detail)
            # No pipeline, no runs: whatever completes once it exists is new.
            return ([], None) if exc.status == 404 else None
        items = page.get("items") if isinstance(page, Mapping) else None
        if not isinstance(items, list):
            self._condition((200, "garbled"), "the answer is not a page of runs")
            return None
        self._condition(None, "")
        following = page.get("next_cursor")
        return (
            [run for run in items if isinstance(run, Mapping)],
            following if isinstance(following, str) else None,
        )

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


def _newest_first(runs: Iterable[Run]) -> list[Run]:
    """Return the runs of ``runs`` that have an integer id, newest (highest id) first."""
    found = (run for run in runs if isinstance(run.get("id"), int))
    return sorted(found, key=lambda run: int(run["id"]), reverse=True)
