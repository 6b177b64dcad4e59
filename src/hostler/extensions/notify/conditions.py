"""The conditions notify judges over a pipeline's runs, and the notices they make due."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from hostler.core import durations
from hostler.extensions import follow
from hostler.extensions.notify.settings import Settings
from hostler.extensions.notify.words import percent, spoken


@dataclasses.dataclass(frozen=True)
class Notice:
    """A message due: the run it is about, the condition that holds in words, and how long the
    run took (or has been running), in seconds, when it is known."""

    run: follow.Run
    condition: str
    seconds: float | None


def _instant(text: object) -> datetime.datetime | None:
    try:
        instant = datetime.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def took(run: follow.Run, now: datetime.datetime) -> float | None:
    """Return the seconds ``run`` took, or has been running at ``now``; None before it started."""
    started = _instant(run.get("started"))
    if started is None:
        return None
    ended = _instant(run.get("ended")) if run.get("state") == "complete" else now
    return None if ended is None else (ended - started).total_seconds()


class Watch:
    """What one subscription knows of its pipeline's runs, and the conditions it judges.

    ``poll`` returns the notices due. The follower's first poll takes the baseline; a watch of
    changed settings goes on with the follower of the previous ones and the runs they told
    while running (``late``). Not thread-safe: the subscription's one timer callback calls it.
    """

    def __init__(
        self, settings: Settings, follower: follow.Follower, late: set[int] | None = None
    ) -> None:
        self.settings = settings
        self.follower = follower
        self.limit = durations.parse(settings.duration) if settings.when == "duration" else None
        self.late = late if late is not None else set()
        """The runs told while running past the limit."""
        self._below = False  # whether the success rate was below the threshold, last judged
        self._judged = False  # whether ``_below`` was taken from the runs yet

    def poll(self, now: datetime.datetime) -> list[Notice]:
        """Return the notices due at ``now``, oldest run first."""
        baseline = not self.follower.baselined
        ended = self.follower.poll()
        if not self.follower.baselined:
            return []
        later = {run["id"] for run in ended}
        if not self._judged:
            self._judged = True
            self._below = self._is_below([r for r in self.follower.runs if r["id"] not in later])
        notices: list[Notice] = []
        for run in ended:
            later.discard(run["id"])
            history = [r for r in self.follower.runs if r["id"] not in later]
            notice = self.judge(run, history, now)
            if notice is not None:
                notices.append(notice)
        if self.limit is not None:
            notices.extend(self._running(now, told=not baseline))
        return notices

    def judge(
        self, run: follow.Run, history: Sequence[follow.Run], now: datetime.datetime
    ) -> Notice | None:
        """Return the notice ``run``, just complete, calls for, ``history`` being the newest
        complete runs then (newest first); None when the condition does not hold."""
        settings, status, seconds = self.settings, run.get("status"), took(run, now)
        if settings.when == "finished":
            return Notice(run, "finished", seconds)
        if settings.when == "failed":
            return Notice(run, "failed", seconds) if status == "failed" else None
        if settings.when == "failures_in_row":
            row = next((i for i, r in enumerate(history) if r.get("status") != "failed"), None)
            row = len(history) if row is None else row
            due = status == "failed" and row == settings.count
            return Notice(run, f"failed {row} times in a row", seconds) if due else None
        if settings.when == "duration":
            late = run["id"] in self.late
            self.late.discard(run["id"])
            if late or seconds is None or self.limit is None or seconds <= self.limit:
                return None
            return Notice(run, f"took {spoken(seconds)}, over {spoken(self.limit)}", seconds)
        rate = self._rate(history)
        if rate is None:
            return None
        was, self._below = self._below, rate < settings.threshold
        if was or not self._below:
            return None
        words = (
            f"success rate {percent(rate)}% over the last {settings.window} runs, below "
            f"{percent(settings.threshold)}%"
        )
        return Notice(run, words, seconds)

    def _rate(self, history: Sequence[follow.Run]) -> float | None:
        window = history[: self.settings.window]
        if len(window) < self.settings.window:
            return None
        successful = sum(1 for run in window if run.get("status") == "successful")
        return 100.0 * successful / len(window)

    def _is_below(self, history: Sequence[follow.Run]) -> bool:
        rate = self._rate(history)
        return rate is not None and rate < self.settings.threshold

    def _running(self, now: datetime.datetime, *, told: bool) -> list[Notice]:
        """Return the notices of the runs running past the limit at ``now`` and not told yet;
        with ``told`` false (the baseline), take them as told."""
        notices = []
        for run in self.follower.running():
            seconds = took(run, now)
            if seconds is None or self.limit is None or seconds <= self.limit:
                continue
            if run["id"] not in self.late and told:
                words = f"running for {spoken(seconds)}, over {spoken(self.limit)}"
                notices.append(Notice(run, words, seconds))
            self.late.add(run["id"])
        floor = self.follower.floor
        # A run below the window will never be told complete: forget it.
        self.late.difference_update([number for number in self.late if number < floor])
        return notices
