"""The pipeline trigger: a run of the upstream pipeline that ends with a chosen status starts one
run of the subscriber, once, even across a restart, and a downtime is caught up from the runs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hostler.extensions import follow, pipeline
from hostler.sdk import extension

from . import KEY, Clock, at, system
from .fakes import Hostler, settle, subscribe, tick, unsubscribe

SUB = "default/deploy/after-build"
AFTER_BUILD = {"pipeline": "build"}


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-01-01 12:00"))


@pytest.fixture
def hostler(clock: Clock) -> Hostler:
    hostler = Hostler(clock)
    hostler.create("default", "build")
    hostler.create("default", "deploy")
    return hostler


def started(clock: Clock, hostler: Hostler) -> pipeline.Trigger:
    """Return the trigger as Hostler starts it, against ``hostler``."""
    return pipeline.Trigger(system(), api=hostler.client(), clock=clock)


@pytest.fixture
def trigger(clock: Clock, hostler: Hostler) -> Iterator[pipeline.Trigger]:
    with contextlib.closing(started(clock, hostler)) as trigger:
        yield trigger


def test_info_names_the_pipeline_trigger_and_its_settings() -> None:
    info = pipeline.Trigger.info()

    assert (info.name, info.version, info.kind) == ("pipeline", "1.0.0", "trigger")
    assert set(info.settings_schema["properties"]) == {"pipeline", "statuses", "variables"}
    assert info.settings_schema["required"] == ["pipeline"]


@pytest.mark.parametrize(
    ("settings", "description"),
    [
        (AFTER_BUILD, "after 'default/build' ends successful"),
        (
            {"pipeline": "default/build", "statuses": ["successful", "failed"]},
            "after 'default/build' ends successful or failed",
        ),
        ({"pipeline": "platform/images"}, "after 'platform/images' ends successful"),
    ],
)
def test_subscribe_describes_the_upstream_and_the_statuses(
    trigger: pipeline.Trigger, settings: dict[str, Any], description: str
) -> None:
    answer = subscribe(trigger, settings, SUB)

    assert answer.result == "created"
    assert answer.description == description


def test_a_run_is_started_for_each_upstream_run_that_ends_with_a_chosen_status(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {"pipeline": "build", "statuses": ["successful", "failed"]}, SUB)
    settle(trigger, clock)

    for status in ("successful", "cancelled", "failed"):
        hostler.ran("default", "build", status)
    tick(trigger, clock)
    tick(trigger, clock)

    assert [(run.namespace, run.pipeline) for run in hostler.started] == [("default", "deploy")] * 2
    assert [dict(run.variables) for run in hostler.started] == [
        {
            "HOSTLER_TRIGGER": "pipeline",
            "HOSTLER_SUBSCRIPTION": SUB,
            "HOSTLER_UPSTREAM_RUN": "default/build#1",
            "HOSTLER_UPSTREAM_STATUS": "successful",
        },
        {
            "HOSTLER_TRIGGER": "pipeline",
            "HOSTLER_SUBSCRIPTION": SUB,
            "HOSTLER_UPSTREAM_RUN": "default/build#3",
            "HOSTLER_UPSTREAM_STATUS": "failed",
        },
    ]


def test_upstream_runs_complete_when_following_starts_start_nothing(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.ran("default", "build")
    running = hostler.run("default", "build")

    subscribe(trigger, AFTER_BUILD, SUB)
    tick(trigger, clock)
    hostler.complete("default", "build", running)
    tick(trigger, clock)

    assert hostler.upstream_runs() == ["default/build#2"]


def test_runs_are_told_oldest_first_by_id_even_when_they_end_out_of_order(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)
    first, second, third = (hostler.run("default", "build") for _ in range(3))

    hostler.complete("default", "build", third)
    hostler.complete("default", "build", first)
    tick(trigger, clock)
    hostler.complete("default", "build", second)
    tick(trigger, clock)

    assert hostler.upstream_runs() == ["default/build#1", "default/build#3", "default/build#2"]


def test_the_chosen_variables_are_copied_from_the_upstream_run_when_it_has_them(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {**AFTER_BUILD, "variables": ["GIT_SHA", "VERSION"]}, SUB)
    settle(trigger, clock)

    hostler.ran("default", "build", variables={"GIT_SHA": "0d1a26e", "OTHER": "x"})
    tick(trigger, clock)

    assert hostler.started[0].variables == {
        "GIT_SHA": "0d1a26e",
        "HOSTLER_TRIGGER": "pipeline",
        "HOSTLER_SUBSCRIPTION": SUB,
        "HOSTLER_UPSTREAM_RUN": "default/build#1",
        "HOSTLER_UPSTREAM_STATUS": "successful",
    }


def test_a_burst_of_more_runs_than_a_listing_holds_is_told_page_by_page(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "WINDOW", 3)
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)

    for _ in range(8):  # more than two listings hold end between two polls
        hostler.ran("default", "build")
    tick(trigger, clock)
    hostler.ran("default", "build")
    tick(trigger, clock)

    assert hostler.upstream_runs() == [f"default/build#{n}" for n in range(1, 10)]


def test_following_remembers_one_listing_and_tells_no_run_below_it_nor_twice(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "WINDOW", 3)
    monkeypatch.setattr(follow, "PAGES", 1)
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)
    slow = hostler.run("default", "build")

    for _ in range(5):  # more than a listing holds end between two polls
        hostler.ran("default", "build")
    tick(trigger, clock)
    hostler.complete("default", "build", slow)  # below the window now
    hostler.ran("default", "build")
    tick(trigger, clock)
    tick(trigger, clock)

    assert hostler.upstream_runs() == [
        "default/build#4",
        "default/build#5",
        "default/build#6",
        "default/build#7",
    ]


def test_an_upstream_in_another_namespace_is_followed(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.create("platform", "images")
    subscribe(trigger, {"pipeline": "platform/images"}, SUB)
    settle(trigger, clock)

    hostler.ran("default", "build")  # the same name's namespace does not count
    hostler.ran("platform", "images")
    tick(trigger, clock)

    assert hostler.upstream_runs() == ["platform/images#1"]
    assert hostler.started[0].namespace == "default"


def test_an_upstream_that_does_not_exist_yet_is_waited_for_and_logged_once(
    trigger: pipeline.Trigger,
    clock: Clock,
    hostler: Hostler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        subscribe(trigger, {"pipeline": "release"}, SUB)
        for _ in range(3):
            tick(trigger, clock)
        hostler.create("default", "release")
        hostler.ran("default", "release")  # its first run ends before the next poll
        tick(trigger, clock)
        hostler.ran("default", "release", "failed")
        hostler.ran("default", "release")
        tick(trigger, clock)

    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("followed pipeline not found") == 1
    assert messages.count("following runs again") == 1
    assert hostler.upstream_runs() == ["default/release#1", "default/release#3"]


def test_runs_that_end_while_hostler_is_unreachable_are_told_once_it_answers(
    trigger: pipeline.Trigger,
    clock: Clock,
    hostler: Hostler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)

    with caplog.at_level(logging.INFO):
        hostler.unreachable = True
        for _ in range(3):
            tick(trigger, clock)
        hostler.ran("default", "build")
        hostler.unreachable = False
        tick(trigger, clock)

    assert [r.getMessage() for r in caplog.records].count("runs not listed") == 1
    assert hostler.upstream_runs() == ["default/build#1"]


def test_a_run_not_started_is_logged_and_following_goes_on(
    trigger: pipeline.Trigger,
    clock: Clock,
    hostler: Hostler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)
    hostler.refuse = 1

    with caplog.at_level(logging.INFO):
        hostler.ran("default", "build")
        tick(trigger, clock)
        hostler.ran("default", "build")
        tick(trigger, clock)

    refused = [r for r in caplog.records if r.getMessage() == "run not started"]
    assert [(r.__dict__["upstream_run"], r.__dict__["status"]) for r in refused] == [
        ("default/build#1", 503)
    ]
    assert hostler.upstream_runs() == ["default/build#2"]


def test_a_restart_catches_up_the_upstream_runs_missed_oldest_first_and_doubles_none(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, {**AFTER_BUILD, "statuses": ["successful", "failed"]}, SUB)
    settle(trigger, clock)
    hostler.ran("default", "build")
    slow = hostler.run("default", "build")
    hostler.ran("default", "build", "failed")
    tick(trigger, clock)
    trigger.close()  # the extension stops; meanwhile upstream runs end
    hostler.complete("default", "build", slow)
    hostler.ran("default", "build", "cancelled")
    hostler.ran("default", "build", "failed")
    assert hostler.upstream_runs() == ["default/build#1", "default/build#3"]

    with contextlib.closing(started(clock, hostler)) as again:
        subscribe(again, {**AFTER_BUILD, "statuses": ["successful", "failed"]}, SUB)
        tick(again, clock)
        hostler.ran("default", "build")
        tick(again, clock)
        tick(again, clock)
    with contextlib.closing(started(clock, hostler)) as later:  # and once more, at once
        subscribe(later, {**AFTER_BUILD, "statuses": ["successful", "failed"]}, SUB)
        tick(later, clock)
        tick(later, clock)

    assert hostler.upstream_runs() == [
        "default/build#1",
        "default/build#3",
        "default/build#2",  # missed, oldest first
        "default/build#5",
        "default/build#6",  # ended after the restart
    ]


def test_nothing_is_caught_up_without_an_earlier_run_of_the_subscription(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.ran("default", "build")
    hostler.ran("default", "build")
    hostler.ran(
        "default",
        "deploy",
        variables={
            "HOSTLER_TRIGGER": "pipeline",
            "HOSTLER_SUBSCRIPTION": "default/deploy/other",
            "HOSTLER_UPSTREAM_RUN": "default/build#1",
        },
    )

    subscribe(trigger, AFTER_BUILD, SUB)
    tick(trigger, clock)

    assert hostler.started == []


def test_catch_up_counts_only_runs_this_trigger_started_from_the_same_upstream(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    for _ in range(3):
        hostler.ran("default", "build")
    ours = {"HOSTLER_SUBSCRIPTION": SUB, "HOSTLER_UPSTREAM_RUN": "default/test#1"}
    hostler.ran("default", "deploy", variables={**ours, "HOSTLER_TRIGGER": "pipeline"})
    theirs = {"HOSTLER_SUBSCRIPTION": SUB, "HOSTLER_UPSTREAM_RUN": "default/build#1"}
    hostler.ran("default", "deploy", variables={**theirs, "HOSTLER_TRIGGER": "cron"})

    subscribe(trigger, AFTER_BUILD, SUB)
    tick(trigger, clock)

    assert hostler.started == []


def test_subscribing_again_or_with_changed_settings_starts_no_upstream_run_twice(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    hostler.create("default", "test")
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)
    hostler.ran("default", "build")
    tick(trigger, clock)

    same = subscribe(trigger, AFTER_BUILD, SUB)
    tick(trigger, clock)
    hostler.ran("default", "build", "failed")  # ends between two polls and a change
    changed = subscribe(trigger, {**AFTER_BUILD, "statuses": ["failed"]}, SUB)
    tick(trigger, clock)
    hostler.ran("default", "build")
    tick(trigger, clock)
    hostler.ran("default", "test")
    other = subscribe(trigger, {"pipeline": "test"}, SUB)  # a new baseline
    tick(trigger, clock)
    hostler.ran("default", "test")
    tick(trigger, clock)
    back = subscribe(trigger, AFTER_BUILD, SUB)
    tick(trigger, clock)
    tick(trigger, clock)

    assert [a.result for a in (same, changed, other, back)] == [
        "unchanged",
        "changed",
        "changed",
        "changed",
    ]
    assert hostler.upstream_runs() == ["default/build#1", "default/build#2", "default/test#2"]


def test_a_subscription_ended_and_made_again_starts_from_a_new_baseline(
    trigger: pipeline.Trigger, clock: Clock, hostler: Hostler
) -> None:
    subscribe(trigger, AFTER_BUILD, SUB)
    settle(trigger, clock)
    hostler.ran("default", "build")
    tick(trigger, clock)

    unsubscribe(trigger, SUB)
    hostler.ran("default", "build")
    tick(trigger, clock)
    subscribe(trigger, AFTER_BUILD, SUB)
    tick(trigger, clock)
    hostler.ran("default", "build")
    tick(trigger, clock)

    assert hostler.upstream_runs() == ["default/build#1", "default/build#3"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"pipeline": "deploy"}, "settings.pipeline"),
        ({"pipeline": "default/deploy"}, "settings.pipeline"),
        ({}, "settings.pipeline"),
        ({"pipeline": "Build"}, "settings.pipeline"),
        ({"pipeline": "a/b/c"}, "settings.pipeline"),
        ({"pipeline": "/build"}, "settings.pipeline"),
        ({"pipeline": "build", "statuses": []}, "settings.statuses"),
        ({"pipeline": "build", "statuses": ["succeeded"]}, "settings.statuses[0]"),
        ({"pipeline": "build", "statuses": "failed"}, "settings.statuses"),
        ({"pipeline": "build", "variables": ["9LIVES"]}, "settings.variables"),
        ({"pipeline": "build", "variables": ["HOSTLER_TRIGGER"]}, "settings.variables"),
        ({"pipeline": "build", "when": "now"}, "settings.when"),
    ],
)
def test_bad_settings_are_refused_with_422_naming_the_setting(
    trigger: pipeline.Trigger, settings: dict[str, Any], field: str
) -> None:
    body = {"namespace": "default", "pipeline": "deploy", "subscription": SUB, "settings": settings}

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
