"""The ``cron`` trigger: start a run of the subscribing pipeline when a cron expression matches.

The expression has the five standard fields and matches the wall clock of the subscription's
``timezone`` (UTC by default), across daylight-saving changes as ``hostler.core.schedules`` says:
a time the spring change skips fires just after the gap, one the autumn change repeats fires
once. Each fire starts a run with the variables ``HOSTLER_TRIGGER=cron``,
``HOSTLER_SUBSCRIPTION`` (the subscription's id) and ``HOSTLER_FIRE_TIME`` (the instant the fire
was due, ISO 8601 in UTC).

**Catch-up.** The extension keeps no state: Hostler's runs are the record of the fires that
happened. When a subscription arrives for the first time in this process (after the extension
or Hostler started), the extension lists the pipeline's newest runs (one page of
``RUNS_LOOKED_AT``), takes the latest ``HOSTLER_FIRE_TIME`` among the runs this subscription
started (``HOSTLER_TRIGGER=cron`` and its ``HOSTLER_SUBSCRIPTION``), and fires at once, oldest
first, the fires missed since by the ``catch_up`` policy: ``none``, ``latest`` (the default: the
most recent one) or ``all`` (each, up to ``schedules.MAX_CATCH_UP``). No such run (a new
subscription, or its runs pushed off the page by others) means nothing to catch up, and so does
an API that cannot be reached (logged). A fire whose run could not be started has no run, so the
next start makes up for it. Settings changed later, or a subscription ended and started again in
the same process, catch up nothing: the process was there to fire.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from hostler import extensions
from hostler.core import schedules
from hostler.sdk import client
from hostler.sdk.extension import base

RUNS_LOOKED_AT = 100
"""How many of a pipeline's newest runs catching up looks through for the last fire."""


class Settings(pydantic.BaseModel):
    """The settings of one cron subscription."""

    # ``schedules.cron`` checks them further, as the plans of pipeline files do.
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    schedule: pydantic.StrictStr = pydantic.Field(
        description="Required. When to start a run, as a five-field cron expression: minute, "
        "hour, day of month, month, day of week.",
        examples=["0 2 * * *", "*/15 * * * 1-5"],
    )
    timezone: pydantic.StrictStr = pydantic.Field(
        "UTC",
        description="The IANA time zone whose wall clock the expression matches.",
        examples=["Europe/Paris"],
    )
    catch_up: schedules.CatchUp = pydantic.Field(
        schedules.CatchUp.LATEST,
        description="What to do about fires missed while the extension was not running: none, "
        f"latest (the most recent one) or all (each, up to {schedules.MAX_CATCH_UP}).",
    )


class Trigger(extensions.Scheduled[Settings]):
    """Starts a run of the subscribing pipeline when its cron expression matches."""

    name = "cron"
    version = "1.0.0"
    description = "Start a run on a cron schedule, in a time zone, catching up missed fires."

    def schedule(self, sub: base.Subscription[Settings]) -> schedules.Cron:
        """Return the cron schedule of ``sub``; raise InvalidArgument naming the setting."""
        return schedules.cron(sub.settings.model_dump(mode="json"))

    def catches_up(self, sub: base.Subscription[Settings]) -> bool:
        """Tell whether ``sub`` arrives for the first time in this process."""
        return self.first_arrival(sub) and sub.settings.catch_up is not schedules.CatchUp.NONE

    def missed(
        self, sub: base.Subscription[Settings], now: datetime.datetime
    ) -> Sequence[datetime.datetime]:
        """Return the fires ``sub`` missed before ``now`` by its policy, from its last run."""
        last = self.last_fire(sub)
        if last is None:
            return []
        missed = schedules.catch_up(self.schedule(sub), last, now)
        if missed:
            self.log.info(
                "catching up",
                extra={
                    "subscription": sub.id,
                    "last_fire": extensions.fire_time(last),
                    "missed": [extensions.fire_time(m) for m in missed],
                },
            )
        return missed

    def last_fire(self, sub: base.Subscription[Settings]) -> datetime.datetime | None:
        """Return the latest fire ``sub`` started a run for, from the pipeline's newest runs;
        None when there is none or Hostler cannot tell."""
        try:
            page = self.api.list_runs(sub.namespace, sub.pipeline, limit=RUNS_LOOKED_AT)
        except client.ApiError as exc:
            self.log.warning(
                "catch-up skipped: runs not listed",
                extra={"subscription": sub.id, "status": exc.status, "detail": exc.detail},
            )
            return None
        fired = [
            instant
            for run in page.get("items", [])
            if (instant := _fire_of(run, self.name, sub.id)) is not None
        ]
        return max(fired, default=None)


def _fire_of(run: Mapping[str, Any], trigger: str, subscription: str) -> datetime.datetime | None:
    """Return the fire time of ``run`` when ``subscription`` of ``trigger`` started it."""
    variables = run.get("variables")
    if not isinstance(variables, Mapping):
        return None
    if variables.get("HOSTLER_TRIGGER") != trigger:
        return None
    if variables.get("HOSTLER_SUBSCRIPTION") != subscription:
        return None
    try:
        instant = datetime.datetime.fromisoformat(str(variables.get("HOSTLER_FIRE_TIME")))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


if __name__ == "__main__":
    Trigger.main()
