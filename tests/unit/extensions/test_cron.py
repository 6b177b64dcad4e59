"""The cron trigger: fires on the wall clock of its time zone, and catches up after a downtime."""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hostler.extensions import cron
from hostler.sdk import extension

from . import KEY, Clock, Hostler, advance, at, settle, subscribe, system, unsubscribe

HALF_HOUR = datetime.timedelta(minutes=30)
MINUTE = datetime.timedelta(minutes=1)
SUB = "default/hello/nightly"
HOURLY = {"schedule": "0 * * * *"}


def ours(fire: str, subscription: str = SUB, trigger: str = "cron") -> dict[str, Any]:
    """Return a run that ``subscription`` of ``trigger`` started for the fire at ``fire``."""
    variables = {
        "HOSTLER_TRIGGER": trigger,
        "HOSTLER_SUBSCRIPTION": subscription,
        "HOSTLER_FIRE_TIME": fire,
    }
    return {"id": 0, "state": "complete", "variables": variables}


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-01-01 05:20"))


@pytest.fixture
def hostler(clock: Clock) -> Hostler:
    return Hostler(clock)


@pytest.fixture
def trigger(clock: Clock, hostler: Hostler) -> Iterator[cron.Trigger]:
    trigger = cron.Trigger(system(), api=hostler.client(), clock=clock)
    yield trigger
    trigger.close()


def restarted(clock: Clock, hostler: Hostler) -> cron.Trigger:
    """Return the trigger as a new process starts it, with the same Hostler."""
    return cron.Trigger(system(), api=hostler.client(), clock=clock)


def test_info_names_the_cron_trigger_and_its_settings() -> None:
    info = cron.Trigger.info()

    assert (info.name, info.version, info.kind) == ("cron", "1.0.0", "trigger")
    assert set(info.settings_schema["properties"]) == {"schedule", "timezone", "catch_up"}
    assert info.settings_schema["required"] == ["schedule"]


def test_subscribe_describes_the_schedule_and_its_next_three_fires(
    trigger: cron.Trigger, clock: Clock
) -> None:
    clock.now = at("2026-01-10 12:00")
    settings = {"schedule": "0 2 * * *", "timezone": "America/New_York"}

    dry = subscribe(trigger, settings, SUB, dry_run=True)
    answer = subscribe(trigger, settings, SUB)

    expected = [at("2026-01-11 07:00"), at("2026-01-12 07:00"), at("2026-01-13 07:00")]
    for summary in (dry, answer):
        assert summary.description == "cron 0 2 * * * (America/New_York)"
        assert summary.next_fires == expected
    assert (dry.result, answer.result) == ("created", "created")


@pytest.mark.parametrize(
    ("start", "until", "expected"),
    [
        pytest.param(
            "2026-03-27 12:00",
            "2026-03-31 00:00",
            # 02:30 CET; 03:00 CEST, the first instant after the gap; 02:30 CEST
            ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
            id="spring",
        ),
        pytest.param(
            "2026-10-23 12:00",
            "2026-10-27 00:00",
            # 02:30 CEST; 02:30 CEST, the first of the two; 02:30 CET
            ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
            id="autumn",
        ),
    ],
)
def test_it_fires_at_the_right_utc_instants_across_a_daylight_saving_change_in_paris(
    trigger: cron.Trigger,
    clock: Clock,
    hostler: Hostler,
    start: str,
    until: str,
    expected: list[str],
) -> None:
    clock.now = at(start)
    subscribe(trigger, {"schedule": "30 2 * * *", "timezone": "Europe/Paris"}, SUB)

    advance(trigger, clock, at(until), HALF_HOUR)

    assert hostler.fire_times() == expected
    # each started as the clock reached it
    assert [run.at for run in hostler.started] == [
        datetime.datetime.fromisoformat(t) for t in expected
    ]
    assert hostler.started[0].variables["HOSTLER_TRIGGER"] == "cron"
    assert hostler.started[0].variables["HOSTLER_SUBSCRIPTION"] == SUB


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("none", []),
        ("latest", ["2026-01-01T05:00:00Z"]),
        ("all", ["2026-01-01T03:00:00Z", "2026-01-01T04:00:00Z", "2026-01-01T05:00:00Z"]),
    ],
)
def test_fires_missed_during_a_downtime_are_caught_up_at_once_by_the_policy(
    trigger: cron.Trigger, clock: Clock, hostler: Hostler, policy: str, expected: list[str]
) -> None:
    # newest first: runs of others, then this subscription's last fire before the downtime
    hostler.runs = [
        {"id": 9, "state": "complete", "variables": {}},
        ours("2026-01-01T05:00:00Z", subscription="default/hello/other"),
        ours("2026-01-01T05:00:00Z", trigger="interval"),
        ours("2026-01-01T02:00:00Z"),
        ours("2026-01-01T01:00:00Z"),
    ]

    subscribe(trigger, {**HOURLY, "catch_up": policy}, SUB)
    settle(trigger, clock)

    assert hostler.fire_times() == expected
    assert all(run.at == at("2026-01-01 05:20") for run in hostler.started)
    assert trigger.timers.pending(SUB) == [at("2026-01-01 06:00")]
    advance(trigger, clock, at("2026-01-01 06:00"), MINUTE)
    assert hostler.fire_times() == [*expected, "2026-01-01T06:00:00Z"]


def test_nothing_is_caught_up_without_an_earlier_run_of_the_subscription(
    trigger: cron.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.runs = [ours("2026-01-01T02:00:00Z", subscription="default/hello/other")]

    subscribe(trigger, {**HOURLY, "catch_up": "all"}, SUB)
    settle(trigger, clock)

    assert hostler.listed == 1
    assert hostler.started == []
    assert trigger.timers.pending(SUB) == [at("2026-01-01 06:00")]


@pytest.mark.parametrize(
    ("trouble", "logged"),
    [
        ("unreachable", "catch-up skipped: runs not listed"),
        ("garbled", "catch-up failed"),
    ],
)
def test_catch_up_is_skipped_when_hostler_cannot_tell_and_the_fires_go_on(
    trigger: cron.Trigger,
    clock: Clock,
    hostler: Hostler,
    caplog: pytest.LogCaptureFixture,
    trouble: str,
    logged: str,
) -> None:
    hostler.runs = [ours("2026-01-01T02:00:00Z")]
    setattr(hostler, trouble, True)

    with caplog.at_level(logging.INFO):
        subscribe(trigger, {**HOURLY, "catch_up": "all"}, SUB)
        settle(trigger, clock)
    setattr(hostler, trouble, False)
    advance(trigger, clock, at("2026-01-01 06:00"), MINUTE)

    assert logged in [r.getMessage() for r in caplog.records]
    assert hostler.fire_times() == ["2026-01-01T06:00:00Z"]


def test_a_restart_catches_up_from_the_runs_it_started_and_doubles_no_fire(
    trigger: cron.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.runs = [ours("2026-01-01T05:00:00Z")]
    subscribe(trigger, HOURLY, SUB)
    advance(trigger, clock, at("2026-01-01 07:10"), MINUTE)
    trigger.close()  # the process stops and starts again at once

    with contextlib.closing(restarted(clock, hostler)) as again:
        subscribe(again, HOURLY, SUB)
        settle(again, clock)
        fired_before = hostler.fire_times()
        advance(again, clock, at("2026-01-01 07:30"), MINUTE)
    clock.now = at("2026-01-01 09:30")  # it stops again, and starts after a downtime
    with contextlib.closing(restarted(clock, hostler)) as later:
        subscribe(later, HOURLY, SUB)
        settle(later, clock)

    assert fired_before == ["2026-01-01T06:00:00Z", "2026-01-01T07:00:00Z"]
    assert hostler.fire_times() == [*fired_before, "2026-01-01T09:00:00Z"]  # latest only


def test_only_the_first_subscribe_in_a_process_catches_up(
    trigger: cron.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.runs = [ours("2026-01-01T03:00:00Z")]
    subscribe(trigger, HOURLY, SUB)
    settle(trigger, clock)

    changed = subscribe(trigger, {**HOURLY, "catch_up": "all"}, SUB)
    settle(trigger, clock)
    unsubscribe(trigger, SUB)
    subscribe(trigger, HOURLY, SUB)
    settle(trigger, clock)

    assert changed.result == "changed"
    assert hostler.listed == 1
    assert hostler.fire_times() == ["2026-01-01T05:00:00Z"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "settings.schedule"),
        ({"schedule": "0 2 * *"}, "settings.schedule"),
        ({"schedule": "61 * * * *"}, "settings.schedule"),
        ({"schedule": 5}, "settings.schedule"),
        ({"schedule": "0 2 * * *", "timezone": "Nowhere/City"}, "settings.timezone"),
        ({"schedule": "0 2 * * *", "catch_up": "some"}, "settings.catch_up"),
        ({"schedule": "0 2 * * *", "when": "now"}, "settings.when"),
    ],
)
def test_bad_settings_are_refused_with_422_naming_the_setting(
    trigger: cron.Trigger, settings: dict[str, Any], field: str
) -> None:
    body = {"namespace": "default", "pipeline": "hello", "subscription": SUB, "settings": settings}

    with (
        extension.Server(trigger, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as hostler,
    ):
        answer = hostler.post("/api/subscribe", json=body)

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_argument"
    assert answer.json()["field"] == field
    assert answer.json()["hint"]
    assert trigger.subscriptions == {}
