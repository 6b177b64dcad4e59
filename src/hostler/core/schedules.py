"""Schedules: when an interval or a cron trigger fires, across restarts and clock changes.

Both kinds answer the same two questions: the next fire after an instant, and the fires missed
between two instants. Their answers depend only on the settings, the subscription's id and the
instants asked about, never on memory of earlier fires, so a restarted extension fires on the same
instants as before and never fires one twice.

An **interval** fires on a grid: ``every`` seconds apart, shifted by an offset in ``[0, every)``
drawn from the subscription's id. Subscriptions with the same interval are spread over it instead
of firing together, and a restart fires nothing at once (``jitter: false`` puts the grid on whole
multiples of ``every`` since the Unix epoch).

A **cron** trigger fires when its five-field expression matches the wall clock of its
``timezone`` (IANA name, UTC by default). A wall-clock time that a daylight-saving change skips
fires at the first instant after the gap; one that a change repeats fires once, at its first
occurrence (unless the expression fires every hour anyway). Fires missed while nothing was
running are caught up by the ``catch_up`` policy: ``none``, ``latest`` (the default: the most
recent one only) or ``all`` (each, up to a limit).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import zoneinfo
from collections.abc import Mapping
from typing import Any

import croniter

from hostler.core import durations, errors

MAX_CATCH_UP = 100
"""The most missed fires ``catch_up: all`` makes up for at once."""


class CatchUp(enum.StrEnum):
    """What a cron trigger does about fires missed while it was not running."""

    NONE = "none"
    LATEST = "latest"
    ALL = "all"


def _utc(instant: datetime.datetime) -> datetime.datetime:
    if instant.tzinfo is None:
        raise errors.InvalidArgument("instant: needs a timezone", hint="pass an aware datetime")
    return instant.astimezone(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Interval:
    """Fires every ``every`` seconds, ``offset`` seconds into each period of the epoch's grid."""

    every: float
    offset: float = 0.0

    def describe(self) -> str:
        """Return the schedule for people: ``every 30s``."""
        return f"every {durations.format(self.every)}"

    def next_after(self, instant: datetime.datetime) -> datetime.datetime:
        """Return the first fire strictly after ``instant``."""
        seconds = _utc(instant).timestamp() - self.offset
        periods = int(seconds // self.every) + 1
        return datetime.datetime.fromtimestamp(periods * self.every + self.offset, datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Cron:
    """Fires when ``expression`` matches the wall clock of ``timezone``."""

    expression: str
    timezone: str = "UTC"
    catch_up: CatchUp = CatchUp.LATEST

    def describe(self) -> str:
        """Return the schedule for people: ``cron 0 2 * * * (Europe/Paris)``."""
        return f"cron {self.expression} ({self.timezone})"

    def next_after(self, instant: datetime.datetime) -> datetime.datetime:
        """Return the first fire strictly after ``instant``."""
        return self._step(instant, forward=True)

    def previous(self, instant: datetime.datetime) -> datetime.datetime:
        """Return the last fire strictly before ``instant``."""
        return self._step(instant, forward=False)

    def _step(self, instant: datetime.datetime, *, forward: bool) -> datetime.datetime:
        zone = zoneinfo.ZoneInfo(self.timezone)
        hourly = self.expression.split()[1] == "*"
        current = _utc(instant).astimezone(zone)
        while True:
            walker = croniter.croniter(self.expression, current)
            found: datetime.datetime = (
                walker.get_next(datetime.datetime)
                if forward
                else walker.get_prev(datetime.datetime)
            )
            # A wall-clock time that the end of daylight saving repeats fires once, at its first
            # occurrence, unless the expression fires every hour anyway (as cron does).
            if hourly or not _repeated(found, zone):
                return found.astimezone(datetime.UTC)
            current = found


def _repeated(found: datetime.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """Tell whether ``found`` is the second occurrence of a wall-clock time."""
    first = found.replace(tzinfo=None).replace(tzinfo=zone, fold=0)
    return first.astimezone(datetime.UTC) != found.astimezone(datetime.UTC)


Schedule = Interval | Cron


def fires(
    schedule: Schedule, after: datetime.datetime, until: datetime.datetime, limit: int
) -> list[datetime.datetime]:
    """Return at most ``limit`` fires in ``(after, until]``, oldest first."""
    found: list[datetime.datetime] = []
    current = _utc(after)
    end = _utc(until)
    while len(found) < limit:
        current = schedule.next_after(current)
        if current > end:
            break
        found.append(current)
    return found


def upcoming(schedule: Schedule, now: datetime.datetime, count: int = 3) -> list[datetime.datetime]:
    """Return the next ``count`` fires after ``now``."""
    found: list[datetime.datetime] = []
    current = _utc(now)
    for _ in range(count):
        current = schedule.next_after(current)
        found.append(current)
    return found


def catch_up(
    schedule: Cron, last: datetime.datetime, now: datetime.datetime
) -> list[datetime.datetime]:
    """Return the fires to make up for, by the schedule's policy, when the last fire before a
    pause was ``last`` and it is ``now``."""
    if schedule.catch_up is CatchUp.NONE:
        return []
    if schedule.catch_up is CatchUp.ALL:
        return fires(schedule, last, now, MAX_CATCH_UP)
    latest = schedule.previous(_utc(now) + datetime.timedelta(seconds=1))
    return [latest] if latest > _utc(last) else []


# -- settings, as a trigger of a pipeline writes them ----------------------------------------------


def _offset(subscription: str, every: float) -> float:
    # A stable hash (not Python's salted one): the same subscription gets the same offset in every
    # process, so a restart keeps the grid.
    digest = hashlib.sha256(subscription.encode()).digest()
    return (int.from_bytes(digest[:8], "big") % int(every * 1000)) / 1000


def interval(settings: Mapping[str, Any], subscription: str) -> Interval:
    """Return the interval schedule of ``settings`` (``every``, optional ``jitter``), or raise
    InvalidArgument naming the setting."""
    _known(settings, {"every", "jitter"})
    if "every" not in settings:
        raise errors.InvalidArgument(
            "every: needed", field="settings.every", hint="e.g. every: 30s"
        )
    try:
        every = durations.parse(settings["every"])
    except ValueError as exc:
        raise errors.InvalidArgument(
            f"every: {exc}", field="settings.every", hint="e.g. every: 30s"
        ) from None
    if every < 1:
        raise errors.InvalidArgument(
            "every: must be at least 1s", field="settings.every", hint="e.g. every: 30s"
        )
    jitter = settings.get("jitter", True)
    if not isinstance(jitter, bool):
        raise errors.InvalidArgument("jitter: must be true or false", field="settings.jitter")
    return Interval(every, _offset(subscription, every) if jitter else 0.0)


def cron(settings: Mapping[str, Any]) -> Cron:
    """Return the cron schedule of ``settings`` (``schedule``, optional ``timezone`` and
    ``catch_up``), or raise InvalidArgument naming the setting."""
    _known(settings, {"schedule", "timezone", "catch_up"})
    expression = settings.get("schedule")
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise errors.InvalidArgument(
            f"schedule '{expression}': not five fields",
            field="settings.schedule",
            hint="write minute hour day-of-month month day-of-week, e.g. '0 2 * * *'",
        )
    if not croniter.croniter.is_valid(expression):
        raise errors.InvalidArgument(
            f"schedule '{expression}': not a valid cron expression",
            field="settings.schedule",
            hint="write minute hour day-of-month month day-of-week, e.g. '0 2 * * *'",
        )
    timezone = settings.get("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise errors.InvalidArgument(
            f"timezone '{timezone}': not known",
            field="settings.timezone",
            hint="give an IANA name such as 'Europe/Paris' or 'UTC'",
        ) from None
    policy = settings.get("catch_up", CatchUp.LATEST.value)
    if policy not in set(CatchUp):
        raise errors.InvalidArgument(
            f"catch_up '{policy}': not a policy",
            field="settings.catch_up",
            hint="choose none, latest or all",
        )
    return Cron(expression, timezone, CatchUp(policy))


def _known(settings: Mapping[str, Any], names: set[str]) -> None:
    for name in settings:
        if name not in names:
            raise errors.InvalidArgument(
                f"setting '{name}': not known",
                field=f"settings.{name}",
                hint=f"known settings: {', '.join(sorted(names))}",
            )


BUILTIN = ("interval", "cron")
"""The extensions whose schedules Hostler knows, to show their next fires in plans."""


def of(extension: str, settings: Mapping[str, Any], subscription: str) -> Schedule | None:
    """Return the schedule of a trigger of a built-in scheduling extension; None for another
    extension. InvalidArgument for bad settings."""
    if extension == "interval":
        return interval(settings, subscription)
    if extension == "cron":
        return cron(settings)
    return None
