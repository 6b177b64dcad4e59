"""The built-in extensions, each written with ``hostler.sdk.extension`` like any third-party one.

They import only ``hostler.sdk`` and ``hostler.core`` (an import-linter contract says so), ship
as entry points of the group ``hostler.extensions`` and run, like any other, as processes that
Hostler starts: ``python -m hostler.sdk.extension interval``.

``Scheduled`` is what the two schedule triggers share: ``interval`` (``interval.Trigger``) and
``cron`` (``cron.Trigger``) start a run of the subscribing pipeline at each fire of a schedule of
``hostler.core.schedules``, with the run variables ``HOSTLER_TRIGGER`` (the extension's name),
``HOSTLER_SUBSCRIPTION`` (the subscription's id) and ``HOSTLER_FIRE_TIME`` (the instant the fire
was due, ISO 8601 in UTC). A fire comes at its scheduled instant, and the next one is due at the
following instant of the schedule, so a slow start does not make the schedule drift. When the
process could not fire for longer than a period (a paused machine), the fire that was due comes
once, late, and the schedule resumes at its first instant after now: ``Scheduled`` makes up for
no other missed fire (``cron`` adds a catch-up policy for the fires missed while it was down).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import pydantic

from hostler.core import schedules
from hostler.sdk.extension import base, contract

NEXT_FIRES = 3
"""How many next fires a subscription's summary shows."""

S = TypeVar("S", bound=pydantic.BaseModel)


def fire_time(instant: datetime.datetime) -> str:
    """Return ``instant`` as ``HOSTLER_FIRE_TIME`` says it: ISO 8601 in UTC,
    ``2026-01-01T02:00:00Z``."""
    return instant.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def following(
    schedule: schedules.Schedule, fired: datetime.datetime, now: datetime.datetime
) -> datetime.datetime:
    """Return when ``schedule`` fires next after the fire due at ``fired``, it being ``now``.

    That is the schedule's next instant after ``fired``, not after ``now``, so that a slow fire
    does not shift the next one; but when that instant has passed already (the process was
    paused), the first instant after ``now``: the missed fires are skipped, not made up for.
    """
    after = schedule.next_after(fired)
    return after if after >= now else schedule.next_after(now)


class Scheduled(base.Extension[S]):
    """A trigger that starts a run of the subscribing pipeline at each fire of a schedule.

    A subclass says how a subscription's settings make a schedule (``schedule``, raising
    InvalidArgument naming the setting) and, to catch up, which fires were missed before it
    subscribed (``missed``). Its settings model is the type argument, ``Scheduled[Settings]``.
    ``clock`` is the time its timers go by; tests pass one they control.
    """

    kind: ClassVar[contract.Kind] = "trigger"

    def schedule(self, sub: base.Subscription[S]) -> schedules.Schedule:
        """Return the schedule of ``sub``'s settings; raise InvalidArgument naming the setting."""
        raise NotImplementedError

    def catches_up(self, sub: base.Subscription[S]) -> bool:
        """Tell whether subscribing ``sub`` now first makes up for fires it missed (``missed``);
        called once per subscribe. False by default."""
        return False

    def missed(
        self, sub: base.Subscription[S], now: datetime.datetime
    ) -> Sequence[datetime.datetime]:
        """Return the fires of ``sub`` to make up for at ``now``, oldest first; runs on the timers'
        thread when ``catches_up`` said so. None by default."""
        return []

    def describe(self, sub: base.Subscription[S]) -> base.Summary:
        """Return the schedule for people, with its next fires."""
        schedule = self.schedule(sub)
        upcoming = schedules.upcoming(schedule, self.timers.now(), NEXT_FIRES)
        return base.Summary(schedule.describe(), upcoming)

    def subscribe(self, sub: base.Subscription[S]) -> None:
        """Set ``sub``'s timer: at once to catch up when ``catches_up`` says so, else at its
        schedule's next fire."""
        schedule = self.schedule(sub)
        now = self.timers.now()
        due = schedule.next_after(now)
        catching_up = self.catches_up(sub)

        # One callback for the subscription's whole life, which returns when it runs next: a
        # timer set from inside a callback would escape the cancel that ends the subscription.
        def tick() -> datetime.datetime:
            nonlocal due, catching_up
            if catching_up:
                catching_up = False
                self.catch_up(sub, now)
                return due
            self.fire(sub, due)
            due = following(schedule, due, self.timers.now())
            return due

        self.timers.at(sub.id, now if catching_up else due, tick)

    def catch_up(self, sub: base.Subscription[S], now: datetime.datetime) -> None:
        """Fire at once, oldest first, what ``missed`` says ``sub`` missed before ``now``; log a
        failure to tell, which leaves the schedule going."""
        try:
            missed = self.missed(sub, now)
        except Exception:
            self.log.exception("catch-up failed", extra={"subscription": sub.id})
            return
        for instant in missed:
            self.fire(sub, instant)

    def fire(self, sub: base.Subscription[S], instant: datetime.datetime) -> None:
        """Start a run of ``sub``'s pipeline for the fire due at ``instant``; log a failure, which
        does not stop the schedule."""
        variables = {
            "HOSTLER_TRIGGER": self.name,
            "HOSTLER_SUBSCRIPTION": sub.id,
            "HOSTLER_FIRE_TIME": fire_time(instant),
        }
        where: dict[str, Any] = {
            "subscription": sub.id,
            "fire_time": variables["HOSTLER_FIRE_TIME"],
        }
        self.start_run_or_log(sub, variables, where)
