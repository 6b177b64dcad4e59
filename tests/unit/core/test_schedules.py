"""Schedules: interval grids and cron fires across daylight-saving changes, and catch-up."""

from __future__ import annotations

import datetime
import itertools

import pytest

from hostler.core import errors, schedules

UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(times: list[datetime.datetime]) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M") for t in times]


def test_an_interval_fires_on_a_grid_that_a_restart_keeps() -> None:
    every = schedules.interval({"every": "10m", "jitter": False}, "default/p/interval")
    assert iso(schedules.upcoming(every, at("2026-01-01 00:03"), 3)) == [
        "2026-01-01 00:10",
        "2026-01-01 00:20",
        "2026-01-01 00:30",
    ]
    # asked again at a fire (as a restarted extension would be), the same fire is never repeated
    fire = every.next_after(at("2026-01-01 00:03"))
    assert every.next_after(fire) == fire + datetime.timedelta(minutes=10)


def test_jitter_spreads_subscriptions_over_the_interval_the_same_way_in_every_process() -> None:
    offsets = {
        schedules.interval({"every": "1h"}, f"default/p{n}/interval").offset for n in range(20)
    }
    assert len(offsets) == 20
    assert all(0 <= o < 3600 for o in offsets)
    again = schedules.interval({"every": "1h"}, "default/p0/interval").offset
    assert again in offsets


def test_an_interval_of_1s_fires_every_second() -> None:
    every = schedules.interval({"every": 1}, "s")
    fires = schedules.fires(every, at("2026-01-01 00:00"), at("2026-01-01 00:00:10"), 100)
    assert len(fires) == 10
    assert all(b - a == datetime.timedelta(seconds=1) for a, b in itertools.pairwise(fires))


def test_cron_fires_on_the_wall_clock_of_its_timezone() -> None:
    daily = schedules.cron({"schedule": "0 2 * * *", "timezone": "America/New_York"})
    assert iso(schedules.upcoming(daily, at("2026-01-10 12:00"), 2)) == [
        "2026-01-11 07:00",
        "2026-01-12 07:00",
    ]
    assert daily.describe() == "cron 0 2 * * * (America/New_York)"


def test_a_time_the_spring_change_skips_fires_once_just_after_the_gap() -> None:
    # Europe/Paris skips 02:00-03:00 local on 2026-03-29
    daily = schedules.cron({"schedule": "30 2 * * *", "timezone": "Europe/Paris"})
    assert iso(schedules.upcoming(daily, at("2026-03-27 12:00"), 4)) == [
        "2026-03-28 01:30",  # 02:30 CET
        "2026-03-29 01:00",  # 03:00 CEST, the first instant after the gap
        "2026-03-30 00:30",  # 02:30 CEST
        "2026-03-31 00:30",
    ]


def test_a_time_the_autumn_change_repeats_fires_once() -> None:
    # Europe/Paris lives 02:00-03:00 local twice on 2026-10-25
    daily = schedules.cron({"schedule": "30 2 * * *", "timezone": "Europe/Paris"})
    assert iso(schedules.upcoming(daily, at("2026-10-23 12:00"), 3)) == [
        "2026-10-24 00:30",  # 02:30 CEST
        "2026-10-25 00:30",  # 02:30 CEST, the first of the two
        "2026-10-26 01:30",  # 02:30 CET
    ]
    # an expression that fires every hour keeps firing through the repeated hour
    half_hourly = schedules.cron({"schedule": "*/30 * * * *", "timezone": "Europe/Paris"})
    fires = schedules.fires(half_hourly, at("2026-10-24 23:50"), at("2026-10-25 02:00"), 10)
    assert iso(fires) == [
        "2026-10-25 00:00",
        "2026-10-25 00:30",
        "2026-10-25 01:00",
        "2026-10-25 01:30",
        "2026-10-25 02:00",
    ]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("none", []),
        ("latest", ["2026-01-01 05:00"]),
        ("all", ["2026-01-01 03:00", "2026-01-01 04:00", "2026-01-01 05:00"]),
    ],
)
def test_fires_missed_while_down_are_caught_up_by_the_policy(
    policy: str, expected: list[str]
) -> None:
    hourly = schedules.cron({"schedule": "0 * * * *", "catch_up": policy})
    last, now = at("2026-01-01 02:00"), at("2026-01-01 05:20")
    assert iso(schedules.catch_up(hourly, last, now)) == expected
    # nothing missed, nothing to catch up
    assert schedules.catch_up(hourly, at("2026-01-01 05:00"), now) == []


def test_catching_up_all_stops_at_its_limit() -> None:
    minutely = schedules.cron({"schedule": "* * * * *", "catch_up": "all"})
    missed = schedules.catch_up(minutely, at("2026-01-01 00:00"), at("2026-01-02 00:00"))
    assert len(missed) == schedules.MAX_CATCH_UP


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "settings.schedule"),
        ({"schedule": "61 * * * *"}, "settings.schedule"),
        ({"schedule": "0 2 * * *", "timezone": "Nowhere/City"}, "settings.timezone"),
        ({"schedule": "0 2 * * *", "catch_up": "some"}, "settings.catch_up"),
        ({"schedule": "0 2 * * *", "when": "now"}, "settings.when"),
    ],
)
def test_bad_cron_settings_name_the_setting(settings: dict[str, object], field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as raised:
        schedules.cron(settings)
    assert raised.value.field == field


def test_an_instant_without_a_timezone_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument):
        schedules.interval({"every": "1m"}, "s").next_after(datetime.datetime(2026, 1, 1))
