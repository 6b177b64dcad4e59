"""The interval trigger: runs on its grid as the clock moves, per subscription, without drift."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hostler.core import schedules
from hostler.extensions import interval
from hostler.sdk import extension
from hostler.sdk.extension import timers

from . import KEY, Clock, Hostler, advance, at, settle, subscribe, system, unsubscribe

T0 = at("2026-01-01 00:00")
SECOND = datetime.timedelta(seconds=1)
QUARTER = datetime.timedelta(seconds=0.25)
SUB = "default/hello/every"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def hostler(clock: Clock) -> Hostler:
    return Hostler(clock)


@pytest.fixture
def trigger(clock: Clock, hostler: Hostler) -> Iterator[interval.Trigger]:
    trigger = interval.Trigger(system(), api=hostler.client(), clock=clock)
    yield trigger
    trigger.close()


def test_info_names_the_interval_trigger_and_its_settings() -> None:
    info = interval.Trigger.info()

    assert (info.name, info.version, info.kind) == ("interval", "1.0.0", "trigger")
    assert set(info.settings_schema["properties"]) == {"every", "jitter"}
    assert info.settings_schema["required"] == ["every"]


def test_subscribe_describes_the_interval_and_its_next_three_fires(
    trigger: interval.Trigger,
) -> None:
    answer = subscribe(trigger, {"every": "10m", "jitter": False})

    assert answer.result == "created"
    assert answer.description == "every 10m"
    assert answer.next_fires == [
        at("2026-01-01 00:10"),
        at("2026-01-01 00:20"),
        at("2026-01-01 00:30"),
    ]
    assert trigger.timers.pending(SUB) == [at("2026-01-01 00:10")]


def test_a_dry_run_describes_the_interval_and_sets_no_timer(trigger: interval.Trigger) -> None:
    answer = subscribe(trigger, {"every": 60, "jitter": False}, dry_run=True)

    assert answer.description == "every 1m"
    assert answer.next_fires == [
        at("2026-01-01 00:01"),
        at("2026-01-01 00:02"),
        at("2026-01-01 00:03"),
    ]
    assert trigger.subscriptions == {}
    assert trigger.timers.pending(SUB) == []


def test_an_interval_of_1s_starts_a_run_at_each_grid_second(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {"every": 1, "jitter": False})

    advance(trigger, clock, T0 + 5 * SECOND, QUARTER)

    assert hostler.fire_times() == [f"2026-01-01T00:00:0{n}Z" for n in range(1, 6)]
    assert [run.at for run in hostler.started] == [T0 + n * SECOND for n in range(1, 6)]
    assert hostler.started[0].variables == {
        "HOSTLER_TRIGGER": "interval",
        "HOSTLER_SUBSCRIPTION": SUB,
        "HOSTLER_FIRE_TIME": "2026-01-01T00:00:01Z",
    }
    assert {(run.namespace, run.pipeline) for run in hostler.started} == {("default", "hello")}


def test_jitter_gives_each_subscription_its_own_instants_on_the_grid(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subs = ["default/a/hourly", "default/b/hourly", "default/c/hourly"]
    for sub in subs:
        subscribe(trigger, {"every": 60}, sub)
    grids = {sub: schedules.interval({"every": 60}, sub) for sub in subs}
    firsts = {sub: grids[sub].next_after(T0) for sub in subs}

    advance(trigger, clock, T0 + 120 * SECOND, QUARTER)

    assert len(set(firsts.values())) == len(subs)
    for sub in subs:
        expected = [firsts[sub], firsts[sub] + 60 * SECOND]
        started = [run for run in hostler.started if run.variables["HOSTLER_SUBSCRIPTION"] == sub]
        assert [datetime.datetime.fromisoformat(t) for t in hostler.fire_times(sub)] == expected
        # each started when the clock reached it (to the quarter second the clock moves by)
        assert all(
            datetime.timedelta(0) <= run.at - when < QUARTER
            for run, when in zip(started, expected, strict=True)
        )


def test_unsubscribe_stops_the_fires(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {"every": 1, "jitter": False})
    advance(trigger, clock, T0 + 2 * SECOND, QUARTER)

    unsubscribe(trigger, SUB)
    advance(trigger, clock, T0 + 5 * SECOND, QUARTER)
    time.sleep(0.05)  # a timer wrongly left would have fired by now

    assert hostler.fire_times() == ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"]
    assert trigger.timers.pending(SUB) == []


def test_subscribing_again_with_equal_settings_does_not_double_the_fires(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {"every": 1, "jitter": False})
    advance(trigger, clock, T0 + 1.5 * SECOND, QUARTER)

    again = subscribe(trigger, {"every": 1, "jitter": False})
    advance(trigger, clock, T0 + 3 * SECOND, QUARTER)

    assert again.result == "unchanged"
    assert trigger.timers.pending(SUB) == [T0 + 4 * SECOND]
    assert hostler.fire_times() == [f"2026-01-01T00:00:0{n}Z" for n in range(1, 4)]


def test_new_settings_on_the_same_grid_keep_its_instants(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {"every": 1, "jitter": False})
    advance(trigger, clock, T0 + 1.5 * SECOND, QUARTER)

    again = subscribe(trigger, {"every": "1s", "jitter": False})
    advance(trigger, clock, T0 + 3 * SECOND, QUARTER)

    assert again.result == "changed"
    assert hostler.fire_times() == [f"2026-01-01T00:00:0{n}Z" for n in range(1, 4)]


def test_a_run_that_fails_to_start_is_logged_and_the_fires_go_on(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(trigger, {"every": 1, "jitter": False})
    hostler.refuse = 1

    with caplog.at_level(logging.INFO):
        advance(trigger, clock, T0 + 3 * SECOND, QUARTER)

    assert hostler.fire_times() == ["2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"]
    failed = [r for r in caplog.records if r.getMessage() == "run not started"]
    assert len(failed) == 1
    assert failed[0].__dict__["fire_time"] == "2026-01-01T00:00:01Z"
    assert failed[0].__dict__["status"] == 503


def test_after_a_pause_the_due_fire_comes_once_and_the_missed_ones_are_skipped(
    trigger: interval.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {"every": 1, "jitter": False})
    advance(trigger, clock, T0 + SECOND, QUARTER)

    clock.now = T0 + 10.5 * SECOND  # the process was paused 9.5 s
    trigger.timers.wake()
    settle(trigger, clock)

    assert hostler.fire_times() == ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"]
    assert trigger.timers.pending(SUB) == [T0 + 11 * SECOND]
    advance(trigger, clock, T0 + 11 * SECOND, QUARTER)
    assert hostler.fire_times()[-1] == "2026-01-01T00:00:11Z"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "settings.every"),
        ({"every": "soon"}, "settings.every"),
        ({"every": 0.5}, "settings.every"),
        ({"every": True}, "settings.every"),
        ({"every": 1, "jitter": "yes"}, "settings.jitter"),
        ({"every": 1, "when": "now"}, "settings.when"),
    ],
)
def test_bad_settings_are_refused_with_422_naming_the_setting(
    trigger: interval.Trigger, settings: dict[str, Any], field: str
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


def test_an_interval_of_1s_starts_runs_at_that_rate_in_real_time() -> None:
    hostler = Hostler(timers.now)
    trigger = interval.Trigger(system(), api=hostler.client())
    body = {
        "namespace": "default",
        "pipeline": "hello",
        "subscription": SUB,
        "settings": {"every": 1},
    }

    with (
        extension.Server(trigger, key=KEY) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        assert client.post("/api/subscribe", json=body).status_code == 200
        time.sleep(3.5)

    assert 3 <= len(hostler.started) <= 4
