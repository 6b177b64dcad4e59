"""Plans: what deploying a version would change, by action, task, field and setting."""

from __future__ import annotations

import dataclasses
import datetime
import json
import textwrap
from typing import Any

import pytest

from hostler.core import deployments, errors, pipelines, plans

NOW = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)


def task(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "image": "busybox:stable", **fields}


def config(*tasks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "hello", "tasks": list(tasks), **fields}


def version(number: int, data: dict[str, Any]) -> pipelines.Version:
    parsed = pipelines.parse(data)
    return pipelines.Version(
        "default", parsed.id, number, pipelines.digest(parsed), parsed, created=NOW
    )


def plan(
    live: dict[str, Any] | None,
    target: dict[str, Any],
    *,
    numbers: tuple[int, int] = (3, 4),
    active_runs: int = 0,
) -> plans.Plan:
    before = None if live is None else version(numbers[0], live)
    return plans.make("hello", before, version(numbers[1], target), active_runs=active_runs)


def fields(made: plans.Plan, task_id: str) -> list[tuple[str, Any, Any]]:
    (change,) = [c for c in made.tasks if c.task == task_id]
    return [(f.field, f.before, f.after) for f in change.fields]


def kinds(made: plans.Plan) -> list[tuple[str, plans.Change]]:
    return [(change.task, change.kind) for change in made.tasks]


def golden(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").split("\n")


# Actions


def test_nothing_live_is_a_first_deploy_that_adds_every_task() -> None:
    made = plan(None, config(task("fetch"), task("test", depends_on={"fetch": "success"})))
    assert (made.action, made.from_version, made.to_version) == (plans.Action.FIRST_DEPLOY, None, 4)
    assert kinds(made) == [("fetch", plans.Change.ADDED), ("test", plans.Change.ADDED)]


def test_an_added_task_lists_the_fields_it_sets() -> None:
    made = plan(None, config(task("fetch", command=["make"], env={"TOKEN": "s3cret"})))
    assert fields(made, "fetch") == [
        ("image", None, "busybox:stable"),
        ("command", None, ["make"]),
        ("env.TOKEN", None, plans.SET),
    ]


def test_the_same_digest_is_up_to_date_with_nothing_listed() -> None:
    made = plan(config(task("a")), config(task("a")), numbers=(4, 4), active_runs=2)
    assert (made.action, made.from_version, made.to_version) == (plans.Action.UP_TO_DATE, 4, 4)
    assert (made.tasks, made.settings, made.runs_in_flight) == ([], [], 2)


def test_a_higher_version_is_an_upgrade() -> None:
    made = plan(config(task("a")), config(task("b")), numbers=(3, 4))
    assert (made.action, made.from_version, made.to_version) == (plans.Action.UPGRADE, 3, 4)


def test_a_lower_version_is_a_rollback() -> None:
    made = plan(config(task("a")), config(task("b")), numbers=(4, 2))
    assert (made.action, made.from_version, made.to_version) == (plans.Action.ROLLBACK, 4, 2)


def test_one_version_number_with_two_digests_is_rejected() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        plan(config(task("a")), config(task("b")), numbers=(4, 4))
    assert caught.value.message == "pipeline 'hello': v4 has two digests, live and target"


def test_negative_active_runs_are_rejected() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        plan(config(task("a")), config(task("b")), active_runs=-1)
    assert caught.value.field == "active_runs"


# Field-level differences


def test_image_command_and_description_changes_show_before_and_after() -> None:
    made = plan(
        config(task("a", command=["sh", "-c", "echo a"])),
        config(task("a", image="busybox:1.36", description="Say a", command=["echo", "a"])),
    )
    assert kinds(made) == [("a", plans.Change.CHANGED)]
    assert fields(made, "a") == [
        ("image", "busybox:stable", "busybox:1.36"),
        ("description", None, "Say a"),
        ("command", ["sh", "-c", "echo a"], ["echo", "a"]),
    ]


def test_env_is_diffed_by_key_without_its_values() -> None:
    made = plan(
        config(task("a", env={"KEEP": "same", "LEVEL": "3", "OLD": "hunter2"})),
        config(task("a", env={"KEEP": "same", "LEVEL": "4", "NEW": "s3cret"})),
    )
    assert fields(made, "a") == [
        ("env.LEVEL", plans.SET, plans.CHANGED),
        ("env.NEW", None, plans.SET),
        ("env.OLD", plans.SET, None),
    ]
    assert made.lines()[-5:-2] == [
        "      env.LEVEL: changed",
        "      env.NEW: added",
        "      env.OLD: removed",
    ]
    shown = "\n".join(made.lines()) + json.dumps(made.to_dict())
    for value in ("hunter2", "s3cret", '"3"', '"4"', "same"):
        assert value not in shown


def test_dependencies_are_diffed_one_by_one() -> None:
    made = plan(
        config(
            task("fetch"),
            task("lint"),
            task("test", depends_on={"fetch": "success", "lint": "success"}),
        ),
        config(
            task("fetch"),
            task("build"),
            task("lint"),
            task("test", depends_on={"fetch": "any", "build": "success"}),
        ),
    )
    assert fields(made, "test") == [
        ("depends_on.build", None, "success"),
        ("depends_on.fetch", "success", "any"),
        ("depends_on.lint", "success", None),
    ]
    assert "      depends_on.fetch: success → any" in made.lines()
    assert "      depends_on.lint: success → (unset)" in made.lines()


def test_timeouts_are_compared_as_durations_and_shown_compactly() -> None:
    made = plan(config(task("a", timeout="90s")), config(task("a", timeout="1h30m")))
    assert fields(made, "a") == [("timeout", 90.0, 5400.0)]
    assert "      timeout: 1m30s → 1h30m" in made.lines()


def test_the_same_timeout_written_two_ways_is_no_change() -> None:
    made = plan(config(task("a", timeout=60), task("b")), config(task("a", timeout="1m")))
    assert kinds(made) == [("b", plans.Change.REMOVED)]


def test_retries_are_diffed_field_by_field() -> None:
    made = plan(
        config(task("a", retries={"attempts": 3}), task("b", retries={"attempts": 2})),
        config(task("a", retries={"attempts": 5, "backoff": "10s"}), task("b")),
    )
    assert fields(made, "a") == [
        ("retries.attempts", 3, 5),
        ("retries.backoff", None, 10.0),
    ]
    assert fields(made, "b") == [("retries.attempts", 2, None)]
    assert "      retries.backoff: (unset) → 10s" in made.lines()


def test_fields_absent_and_fields_at_their_default_are_equal() -> None:
    spelled_out = task(
        "a",
        description="",
        env={},
        depends_on={},
        retries={"attempts": 2, "backoff": 0, "factor": 2, "max_backoff": 300, "on_exit_codes": []},
    )
    made = plan(
        config(spelled_out, task("b"), description="", parallelism=0),
        config(task("a", retries={"attempts": 2}), task("b", image="alpine")),
    )
    assert kinds(made) == [("b", plans.Change.CHANGED)]
    assert made.settings == []


def test_pipeline_settings_are_diffed() -> None:
    made = plan(
        config(task("a"), description="Old", parallelism=2),
        config(task("a"), parallelism=3, timeout="2h"),
    )
    assert made.tasks == []
    assert [(f.field, f.before, f.after) for f in made.settings] == [
        ("description", "Old", None),
        ("parallelism", 2, 3),
        ("timeout", None, 7200.0),
    ]
    assert made.lines()[-6:-2] == [
        "Settings:",
        "  description: Old → (unset)",
        "  parallelism: 2 → 3",
        "  timeout: (unset) → 2h",
    ]


def test_strings_that_could_be_misread_are_quoted() -> None:
    made = plan(
        config(task("a"), description="one\ntwo"), config(task("a"), description=" (unset)")
    )
    assert made.lines()[3] == '  description: "one\\ntwo" → " (unset)"'


# Order


def test_tasks_follow_the_target_order_then_removed_tasks_the_live_order() -> None:
    made = plan(
        config(task("z-gone"), task("keep"), task("edit"), task("a-gone")),
        config(task("new-2"), task("edit", image="alpine"), task("keep"), task("new-1")),
    )
    assert kinds(made) == [
        ("new-2", plans.Change.ADDED),
        ("edit", plans.Change.CHANGED),
        ("new-1", plans.Change.ADDED),
        ("z-gone", plans.Change.REMOVED),
        ("a-gone", plans.Change.REMOVED),
    ]


def test_a_reorder_of_shared_tasks_is_a_setting_change() -> None:
    made = plan(config(task("a"), task("b"), task("c")), config(task("b"), task("d"), task("a")))
    assert [(f.field, f.before, f.after) for f in made.settings] == [
        ("task_order", ["a", "b"], ["b", "a"])
    ]


def test_tasks_added_between_shared_ones_are_no_reorder() -> None:
    made = plan(config(task("a"), task("b")), config(task("a"), task("new"), task("b")))
    assert made.settings == []


# Headline


@pytest.mark.parametrize(
    ("live", "target", "headline"),
    [
        (["a"], ["a", "b"], "Deploy hello v3 → v4: 1 task added, 0 changed, 0 removed"),
        (["a"], ["a", "b", "c"], "Deploy hello v3 → v4: 2 tasks added, 0 changed, 0 removed"),
        (["a", "b"], ["a"], "Deploy hello v3 → v4: 0 tasks added, 0 changed, 1 removed"),
        (
            ["a", "b", "c"],
            ["a*", "b*", "d"],
            "Deploy hello v3 → v4: 1 task added, 2 changed, 1 removed",
        ),
    ],
)
def test_the_headline_counts_with_only_the_first_count_naming_tasks(
    live: list[str], target: list[str], headline: str
) -> None:
    def tasks(names: list[str]) -> list[dict[str, Any]]:
        return [
            task(n.rstrip("*"), image="alpine" if n.endswith("*") else "busybox") for n in names
        ]

    assert plan(config(*tasks(live)), config(*tasks(target))).headline == headline


def test_a_rollback_headline_starts_with_rollback() -> None:
    made = plan(config(task("a"), task("b")), config(task("a")), numbers=(4, 2))
    assert made.headline == "ROLLBACK hello v4 → v2: 0 tasks added, 0 changed, 1 removed"


@pytest.mark.parametrize(
    ("names", "headline"),
    [
        (["a"], "Deploy hello (first version) v1: 1 task added"),
        (["a", "b", "c"], "Deploy hello (first version) v1: 3 tasks added"),
    ],
)
def test_a_first_deploy_headline_counts_added_tasks(names: list[str], headline: str) -> None:
    made = plan(None, config(*(task(n) for n in names)), numbers=(0, 1))
    assert made.headline == headline


def test_an_up_to_date_headline_says_only_that() -> None:
    assert plan(config(task("a")), config(task("a"))).headline == "Up-to-date."


def test_the_counts_count_tasks_by_change() -> None:
    made = plan(
        config(task("a"), task("b"), task("c")),
        config(task("a", image="alpine"), task("d"), task("e"), task("f")),
    )
    assert (made.added, made.changed, made.removed) == (3, 1, 2)


# Runs in flight


@pytest.mark.parametrize(
    ("active_runs", "line"),
    [
        (0, "Runs in flight: none"),
        (1, "Runs in flight: 1 (it finishes on v3)"),
        (2, "Runs in flight: 2 (they finish on v3)"),
    ],
)
def test_runs_in_flight_finish_on_their_version(active_runs: int, line: str) -> None:
    made = plan(config(task("a")), config(task("b")), active_runs=active_runs)
    assert made.runs_in_flight == active_runs
    assert made.lines()[-1] == line


# Rendering: the golden texts


def test_lines_of_a_first_deploy() -> None:
    made = plan(
        None,
        config(
            task("fetch", command=["sh", "-c", "echo fetched"]),
            task("test-a", depends_on={"fetch": "success"}, env={"LEVEL": "3"}),
            task("report", depends_on={"fetch": "any", "test-a": "any"}),
            description="Fan out and back in",
            parallelism=2,
        ),
        numbers=(0, 1),
    )
    assert made.lines() == golden(
        """
        Deploy hello (first version) v1: 3 tasks added

        Tasks:
          + fetch                     (added)
          + test-a                    (added)
          + report                    (added)

        Settings:
          description: (unset) → Fan out and back in
          parallelism: (unset) → 2
        """
    )


def test_lines_of_an_up_to_date_plan() -> None:
    made = plan(config(task("a")), config(task("a")), active_runs=3)
    assert made.lines() == ["Up-to-date."]


def test_lines_of_an_upgrade_that_adds_changes_and_removes() -> None:
    made = plan(
        config(
            task("fetch"),
            task("test-a", env={"LEVEL": "3"}, timeout="30s", depends_on={"fetch": "success"}),
            task("old-report", depends_on={"test-a": "any"}),
            parallelism=2,
        ),
        config(
            task("fetch"),
            task("lint", depends_on={"fetch": "success"}),
            task(
                "test-a",
                image="busybox:1.36",
                env={"LEVEL": "4"},
                timeout="1m",
                depends_on={"fetch": "success"},
            ),
            parallelism=3,
        ),
        active_runs=2,
    )
    assert made.lines() == golden(
        """
        Deploy hello v3 → v4: 1 task added, 1 changed, 1 removed

        Tasks:
          + lint                      (added)
          ~ test-a
              image: busybox:stable → busybox:1.36
              env.LEVEL: changed
              timeout: 30s → 1m
          - old-report                (removed)

        Settings:
          parallelism: 2 → 3

        Runs in flight: 2 (they finish on v3)
        """
    )


def test_lines_of_a_rollback() -> None:
    made = plan(
        config(
            task("fetch", retries={"attempts": 3, "backoff": "5s"}),
            task("test", depends_on={"fetch": "any"}, command=["make", "test"]),
            task("report", depends_on={"test": "any"}),
            timeout="1h",
        ),
        config(
            task("fetch", retries={"attempts": 2}),
            task("test", depends_on={"fetch": "success"}, command=["make", "check"]),
            description="Before reports",
        ),
        numbers=(4, 2),
        active_runs=1,
    )
    assert made.lines() == golden(
        """
        ROLLBACK hello v4 → v2: 0 tasks added, 2 changed, 1 removed

        Tasks:
          ~ fetch
              retries.attempts: 3 → 2
              retries.backoff: 5s → (unset)
          ~ test
              command: ["make", "test"] → ["make", "check"]
              depends_on.fetch: any → success
          - report                    (removed)

        Settings:
          description: (unset) → Before reports
          timeout: 1h → (unset)

        Runs in flight: 1 (it finishes on v4)
        """
    )


def test_a_long_task_id_keeps_a_space_before_its_mark() -> None:
    long_id = "a-task-with-a-rather-long-id"
    made = plan(None, config(task(long_id)), numbers=(0, 1))
    assert made.lines()[3] == f"  + {long_id} (added)"


# The API form


def test_to_dict_is_json_and_round_trips_the_counts() -> None:
    made = plan(
        config(task("a"), task("b", env={"K": "v"}), parallelism=1),
        config(task("b", env={"K": "w"}), task("c"), parallelism=2),
        active_runs=2,
    )
    data = json.loads(json.dumps(made.to_dict()))
    assert data["counts"] == {"added": made.added, "changed": made.changed, "removed": made.removed}
    assert data["counts"] == {"added": 1, "changed": 1, "removed": 1}
    assert data == {
        "pipeline": "hello",
        "action": "upgrade",
        "from_version": 3,
        "to_version": 4,
        "headline": "Deploy hello v3 → v4: 1 task added, 1 changed, 1 removed",
        "counts": {"added": 1, "changed": 1, "removed": 1},
        "tasks": [
            {
                "task": "b",
                "kind": "changed",
                "fields": [{"field": "env.K", "before": "(set)", "after": "(changed)"}],
            },
            {
                "task": "c",
                "kind": "added",
                "fields": [{"field": "image", "before": None, "after": "busybox:stable"}],
            },
            {"task": "a", "kind": "removed", "fields": []},
        ],
        "settings": [{"field": "parallelism", "before": 1, "after": 2}],
        "runs_in_flight": 2,
        "routing": None,
        "missing_secrets": [],
        "triggers": [],
        "notifications": [],
    }


def test_to_dict_of_a_first_deploy_has_no_from_version() -> None:
    data = plan(None, config(task("a")), numbers=(0, 1)).to_dict()
    assert (data["action"], data["from_version"], data["to_version"]) == ("first_deploy", None, 1)


def test_a_plan_is_immutable() -> None:
    made = plan(config(task("a")), config(task("b")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.action = plans.Action.ROLLBACK  # type: ignore[misc]


# Redeploy and canaries: the golden texts

LIVE = config(task("fetch"), task("build", command=["make"]))
CANDIDATE = config(task("fetch"), task("build", command=["make", "all"]), task("ship"))


def test_the_live_version_forced_is_a_redeploy_with_no_changes() -> None:
    live = version(3, LIVE)
    made = plans.make("hello", live, live, active_runs=1, force_same_version=True)
    assert made.action is plans.Action.REDEPLOY
    assert made.lines() == golden(
        """
        Redeploy hello v3, the live version: no task changes

        Runs in flight: 1 (it finishes on v3)
        """
    )


def test_lines_of_a_canary_start() -> None:
    routing = plans.Routing(25, deployments.AutoAbort(max_failure_rate=20, window=10))
    made = plans.canary("hello", version(3, LIVE), version(4, CANDIDATE), routing, active_runs=2)
    assert made.action is plans.Action.CANARY
    assert made.lines() == golden(
        """
        Canary hello v3 → v4 at 25%: 1 task added, 1 changed, 0 removed

        Tasks:
          ~ build
              command: ["make"] → ["make", "all"]
          + ship                      (added)

        Routing:
          25% of new runs go to v4, the rest to v3
          aborted automatically when more than 20% of the last 10 runs of the candidate fail

        Runs in flight: 2 (they finish on their version)
        """
    )


def test_a_canary_of_the_live_version_is_refused() -> None:
    live = version(3, LIVE)
    with pytest.raises(errors.FailedPrecondition, match="v3 is the live version"):
        plans.canary("hello", live, live, plans.Routing(50))


TALLIES = [
    deployments.Tally(3, runs=10, successful=10),
    deployments.Tally(4, runs=10, successful=9, failed=1),
]


def test_lines_of_a_canary_promotion() -> None:
    routing = plans.Routing(50, tallies=TALLIES)
    made = plans.promote("hello", version(3, LIVE), version(4, CANDIDATE), routing)
    assert made.lines() == golden(
        """
        Promote hello v3 → v4: 1 task added, 1 changed, 0 removed

        Tasks:
          ~ build
              command: ["make"] → ["make", "all"]
          + ship                      (added)

        Routing:
          the canary took 50% of new runs
          every new run goes to v4 from now on
          runs since the canary began:
            v3: 10 runs (100% successful)
            v4: 10 runs (90% successful)

        Runs in flight: none
        """
    )


def test_lines_of_a_canary_abort() -> None:
    routing = plans.Routing(50, tallies=TALLIES)
    made = plans.abort("hello", version(3, LIVE), version(4, CANDIDATE), routing, active_runs=1)
    assert (made.from_version, made.to_version, made.tasks) == (4, 3, [])
    assert made.lines() == golden(
        """
        Abort the canary of hello v4: every new run goes to v3 again

        Routing:
          the canary took 50% of new runs
          runs since the canary began:
            v3: 10 runs (100% successful)
            v4: 10 runs (90% successful)

        Runs in flight: 1 (it finishes on its version)
        """
    )


def test_to_dict_carries_the_routing() -> None:
    routing = plans.Routing(50, deployments.AutoAbort(10, 5), TALLIES)
    data = plans.promote("hello", version(3, LIVE), version(4, CANDIDATE), routing).to_dict()
    assert json.loads(json.dumps(data))["routing"] == {
        "percent": 50,
        "auto_abort": {"max_failure_rate": 10, "window": 5},
        "tallies": [
            {
                "version": 3,
                "runs": 10,
                "successful": 10,
                "failed": 0,
                "cancelled": 0,
                "success_rate": 100.0,
            },
            {
                "version": 4,
                "runs": 10,
                "successful": 9,
                "failed": 1,
                "cancelled": 0,
                "success_rate": 90.0,
            },
        ],
    }


# Triggers


def test_triggers_added_changed_and_removed_show_their_schedules_and_next_fires() -> None:
    nightly = {"extension": "cron", "id": "nightly", "settings": {"schedule": "0 2 * * *"}}
    hook = {"extension": "webhook", "settings": {"path": "deploy"}}
    live = version(3, config(task("a"), triggers=[nightly, hook]))
    later = {**nightly, "settings": {"schedule": "30 3 * * 1-5", "timezone": "Europe/Paris"}}
    target = version(
        4,
        config(
            task("a"),
            triggers=[
                later,
                {"extension": "interval", "settings": {"every": "6h", "jitter": False}},
            ],
        ),
    )
    made = plans.make("hello", live, target, now=NOW)  # NOW is Wednesday 2024-05-01 00:00 UTC
    assert made.lines() == golden(
        """
        Deploy hello v3 → v4: 0 tasks added, 0 changed, 0 removed

        Triggers:
          ~ nightly                   cron 30 3 * * 1-5 (Europe/Paris)
              settings.schedule: 0 2 * * * → 30 3 * * 1-5
              settings.timezone: (unset) → Europe/Paris
              next fires (UTC): 2024-05-01 01:30:00, 2024-05-02 01:30:00, 2024-05-03 01:30:00
          + interval                  every 6h
              next fires (UTC): 2024-05-01 06:00:00, 2024-05-01 12:00:00, 2024-05-01 18:00:00
          - webhook                   extension webhook (removed)

        Runs in flight: none
        """
    )
    data = made.to_dict()["triggers"]
    assert [(t["trigger"], t["kind"]) for t in data] == [
        ("nightly", "changed"),
        ("interval", "added"),
        ("webhook", "removed"),
    ]
    assert data[1]["next_fires"][0] == "2024-05-01T06:00:00+00:00"


def test_an_unchanged_trigger_is_not_in_the_plan_and_without_a_clock_no_fires_are_shown() -> None:
    nightly = {"extension": "cron", "settings": {"schedule": "0 2 * * *"}}
    made = plan(
        config(task("a"), triggers=[nightly]),
        config(
            task("a"),
            task("b"),
            triggers=[nightly, {"extension": "interval", "settings": {"every": "1m"}}],
        ),
    )
    assert [(t.trigger, t.next_fires) for t in made.triggers] == [("interval", [])]


@pytest.mark.parametrize(
    ("trigger", "field", "message"),
    [
        (
            {"extension": "cron", "settings": {"schedule": "0 2 * *"}},
            "triggers[0].settings.schedule",
            "trigger 'cron': schedule '0 2 * *': not five fields",
        ),
        (
            {"extension": "cron", "settings": {"schedule": "0 2 * * *", "timezone": "Mars/Base"}},
            "triggers[0].settings.timezone",
            "trigger 'cron': timezone 'Mars/Base': not known",
        ),
        (
            {"extension": "interval", "settings": {"every": "0s"}},
            "triggers[0].settings.every",
            None,
        ),
        (
            {"extension": "interval", "settings": {"every": "1m", "often": True}},
            "triggers[0].settings.often",
            "trigger 'interval': setting 'often': not known",
        ),
        ({"extension": "Not A Name"}, "triggers[0].extension", None),
    ],
)
def test_bad_triggers_are_refused_naming_the_setting(
    trigger: dict[str, Any], field: str, message: str | None
) -> None:
    with pytest.raises(errors.InvalidArgument) as raised:
        pipelines.parse(config(task("a"), triggers=[trigger]))
    assert raised.value.field == field
    if message is not None:
        assert raised.value.message == message


def test_two_triggers_of_one_extension_need_ids() -> None:
    every = {"extension": "interval", "settings": {"every": "1m"}}
    with pytest.raises(errors.InvalidArgument) as raised:
        pipelines.parse(config(task("a"), triggers=[every, every]))
    assert raised.value.field == "triggers[1].id"
    parsed = pipelines.parse(config(task("a"), triggers=[every, {**every, "id": "second"}]))
    assert [t.key for t in parsed.triggers] == ["interval", "second"]


# Notifications


def test_notifications_have_their_own_section_in_the_plan() -> None:
    failed = {"extension": "notify", "id": "alerts", "settings": {"when": "failed"}}
    nightly = {"extension": "cron", "settings": {"schedule": "0 2 * * *"}}
    live = version(3, config(task("a"), triggers=[nightly]))
    target = version(
        4,
        config(
            task("a"),
            triggers=[nightly],
            notifications=[failed, {"extension": "notify", "settings": {"when": "finished"}}],
        ),
    )
    made = plans.make("hello", live, target, now=NOW)
    assert made.lines() == golden(
        """
        Deploy hello v3 → v4: 0 tasks added, 0 changed, 0 removed

        Notifications:
          + alerts                    extension notify
          + notify                    extension notify

        Runs in flight: none
        """
    )
    assert made.triggers == []
    assert [n["trigger"] for n in made.to_dict()["notifications"]] == ["alerts", "notify"]


def test_a_notification_and_a_trigger_may_not_share_a_key() -> None:
    every = {"extension": "interval", "id": "hourly", "settings": {"every": "1h"}}
    tell = {"extension": "notify", "id": "hourly", "settings": {}}
    with pytest.raises(errors.InvalidArgument) as raised:
        pipelines.parse(config(task("a"), triggers=[every], notifications=[tell]))
    assert raised.value.field == "notifications[0].id"
