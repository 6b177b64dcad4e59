"""The ``interval`` trigger: start a run of the subscribing pipeline every N seconds.

Its fires lie on a grid of ``hostler.core.schedules``: ``every`` seconds apart, shifted by an
offset drawn from the subscription's id (unless ``jitter: false``), so that pipelines with the
same interval do not all start together, and a restarted extension, or Hostler subscribing again,
keeps the grid and fires nothing at once. Each fire starts a run with the variables
``HOSTLER_TRIGGER=interval``, ``HOSTLER_SUBSCRIPTION`` and ``HOSTLER_FIRE_TIME``. An interval does
not catch up: fires missed while nothing ran are skipped. The extension keeps no state; the
subscriptions Hostler sends it are all it knows.
"""

from __future__ import annotations

from typing import Any

import pydantic

from hostler import extensions
from hostler.core import schedules
from hostler.sdk.extension import base


class Settings(pydantic.BaseModel):
    """The settings of one interval subscription."""

    # ``schedules.interval`` checks them further, as the plans of pipeline files do.
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    # Any: ``schedules.interval`` checks the value, so that a refusal names 'settings.every'
    # and not a member of a union.
    every: Any = pydantic.Field(
        description="Required. The time between two runs, at least 1s: seconds, or a duration "
        "such as '30s', '10m' or '1h30m'.",
        examples=["30s", 3600],
        json_schema_extra={"type": ["number", "string"]},
    )
    jitter: pydantic.StrictBool = pydantic.Field(
        True,
        description="Whether to shift the fires by an offset drawn from the subscription, so "
        "that subscriptions with the same interval do not fire together. False puts them on "
        "whole multiples of 'every' since the Unix epoch.",
    )


class Trigger(extensions.Scheduled[Settings]):
    """Starts a run of the subscribing pipeline every ``every`` seconds, on a grid."""

    name = "interval"
    version = "1.0.0"
    description = "Start a run every N seconds (or minutes, hours, days)."

    def schedule(self, sub: base.Subscription[Settings]) -> schedules.Schedule:
        """Return the grid of ``sub``; raise InvalidArgument naming the setting."""
        return schedules.interval(sub.settings.model_dump(mode="json"), sub.id)


if __name__ == "__main__":
    Trigger.main()
