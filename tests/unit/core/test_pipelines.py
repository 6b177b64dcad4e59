"""Pipeline configurations: parsing, the fields' rules, canonical form and digest."""

from __future__ import annotations

import hashlib
import json
import types
from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from hostler.core import errors, pipelines


def task(**fields: Any) -> dict[str, Any]:
    return {"id": "a", "image": "busybox:stable", **fields}


def config(*tasks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "p", "tasks": list(tasks) or [task()], **fields}


def invalid(data: Any) -> errors.InvalidArgument:
    with pytest.raises(errors.InvalidArgument) as caught:
        pipelines.parse(data)
    return caught.value


HELLO: dict[str, Any] = {
    "id": "hello",
    "description": "Fan out and back in",
    "parallelism": 2,
    "tasks": [
        {"id": "fetch", "image": "busybox:stable", "command": ["sh", "-c", "echo fetched"]},
        {
            "id": "test-a",
            "image": "busybox:stable",
            "command": ["sh", "-c", "echo a"],
            "depends_on": {"fetch": "success"},
            "env": {"LEVEL": "3", "MODE": "fast"},
            "timeout": "30s",
        },
        {
            "id": "report",
            "image": "busybox:stable",
            "depends_on": {"fetch": "any", "test-a": "any"},
        },
    ],
}


def digest(data: dict[str, Any]) -> str:
    return pipelines.digest(pipelines.parse(data))


def reverse_keys(value: Any) -> Any:
    """Return ``value`` with every mapping's keys in reverse order, recursively."""
    if isinstance(value, dict):
        return {k: reverse_keys(value[k]) for k in reversed(value)}
    if isinstance(value, list):
        return [reverse_keys(v) for v in value]
    return value


# Parsing and field rules


def test_parse_returns_the_configuration_with_defaults() -> None:
    parsed = pipelines.parse(config())
    assert parsed.id == "p"
    assert (parsed.description, parsed.parallelism, parsed.timeout) == ("", 0, None)
    only = parsed.task("a")
    assert (only.image, only.command, only.env, only.depends_on, only.timeout) == (
        "busybox:stable",
        None,
        {},
        {},
        None,
    )


def test_parse_accepts_any_mapping() -> None:
    assert pipelines.parse(types.MappingProxyType(config())).id == "p"


def test_parse_rejects_what_is_not_a_mapping() -> None:
    error = invalid(["id", "p"])
    assert error.message == "pipeline: the configuration must be a mapping"


def test_missing_image_is_rejected_naming_its_field() -> None:
    error = invalid(config({"id": "a"}))
    assert error.field == "tasks[0].image"
    assert error.message == "pipeline: field 'tasks[0].image' is required"


def test_empty_image_is_rejected_naming_its_field() -> None:
    assert invalid(config(task(image=""))).field == "tasks[0].image"


def test_missing_id_is_rejected() -> None:
    assert invalid({"tasks": [task()]}).field == "id"


def test_missing_tasks_is_rejected() -> None:
    assert invalid({"id": "p"}).field == "tasks"


def test_unknown_top_level_field_is_rejected() -> None:
    error = invalid(config(stages=[]))
    assert error.field == "stages"
    assert error.message == "pipeline: field 'stages' is not a known field"


def test_unknown_task_field_is_rejected() -> None:
    error = invalid(config(task(), task(id="b", imagee="x")))
    assert error.field == "tasks[1].imagee"
    assert "is not a known field" in error.message


def test_negative_parallelism_is_rejected() -> None:
    assert invalid(config(parallelism=-1)).field == "parallelism"


def test_command_must_be_a_list_of_strings() -> None:
    assert invalid(config(task(command="echo hi"))).field == "tasks[0].command"


@pytest.mark.parametrize(
    ("written", "seconds"), [("30s", 30.0), ("1h30m", 5400.0), (90, 90.0), ("2.5", 2.5)]
)
def test_timeouts_accept_durations(written: object, seconds: float) -> None:
    parsed = pipelines.parse(config(task(timeout=written), timeout=written))
    assert parsed.timeout == seconds
    assert parsed.tasks[0].timeout == seconds


@pytest.mark.parametrize(
    ("written", "reason"),
    [("0s", "greater than zero"), ("abc", "is not a duration"), (0, "greater than zero")],
)
def test_timeouts_reject_what_is_not_a_duration(written: object, reason: str) -> None:
    error = invalid(config(task(timeout=written)))
    assert error.field == "tasks[0].timeout"
    assert reason in error.message
    assert invalid(config(timeout=written)).field == "timeout"


@pytest.mark.parametrize("written", [float("inf"), float("nan")])
def test_timeouts_reject_non_finite_numbers_so_canonical_json_stays_json(written: float) -> None:
    assert invalid(config(timeout=written)).field == "timeout"


@pytest.mark.parametrize("condition", ["success", "failure", "any"])
def test_dependency_condition_accepts_its_three_values(condition: str) -> None:
    parsed = pipelines.parse(config(task(), task(id="b", depends_on={"a": condition})))
    assert parsed.task("b").depends_on == {"a": pipelines.Condition(condition)}


@pytest.mark.parametrize("condition", ["sometimes", "SUCCESS", "", None])
def test_dependency_condition_rejects_anything_else(condition: object) -> None:
    error = invalid(config(task(), task(id="b", depends_on={"a": condition})))
    assert error.field == "tasks[1].depends_on.a"


def test_task_lookup_names_the_missing_task() -> None:
    with pytest.raises(errors.NotFound, match="task 'zzz': not found in pipeline 'p'"):
        pipelines.parse(config()).task("zzz")


def test_configuration_is_immutable() -> None:
    parsed = pipelines.parse(config())
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        parsed.id = "other"  # type: ignore[misc]


# Canonical form and digest


def test_canonical_json_is_compact_sorted_and_leaves_defaults_out() -> None:
    text = pipelines.canonical_json(pipelines.parse(config(task(command=["true"]))))
    assert text == '{"id":"p","tasks":[{"command":["true"],"id":"a","image":"busybox:stable"}]}'


def test_canonical_json_round_trips_through_parse() -> None:
    first = pipelines.parse(HELLO)
    again = pipelines.parse(json.loads(pipelines.canonical_json(first)))
    assert again == first


def test_digest_is_sha256_of_the_canonical_json() -> None:
    value = digest(HELLO)
    assert value.startswith("sha256:")
    assert len(value) == len("sha256:") + 64
    assert value == digest(HELLO)


def test_digest_ignores_key_order_at_every_level() -> None:
    reordered = reverse_keys(HELLO)
    assert list(reordered) != list(HELLO)
    assert list(reordered["tasks"][1]["env"]) == ["MODE", "LEVEL"]
    assert digest(reordered) == digest(HELLO)


def test_digest_ignores_defaults_spelled_out() -> None:
    spelled = {
        **HELLO,
        "timeout": None,
        "tasks": [
            {**HELLO["tasks"][0], "env": {}, "depends_on": {}, "description": "", "timeout": None},
            *HELLO["tasks"][1:],
        ],
    }
    assert digest(spelled) == digest(HELLO)
    assert digest(config(parallelism=0, description="")) == digest(config())


def test_digest_treats_equal_durations_alike() -> None:
    assert (
        digest(config(timeout="90s"))
        == digest(config(timeout="1m30s"))
        == digest(config(timeout=90))
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(parallelism=3),
        lambda d: d["tasks"][0].update(image="busybox:1.36"),
        lambda d: d["tasks"][1]["env"].update(LEVEL="4"),
        lambda d: d["tasks"][2]["depends_on"].update(fetch="success"),
        lambda d: d["tasks"][1].update(timeout="31s"),
        lambda d: d["tasks"][0].update(command=["sh", "-c", "echo fetched "]),
    ],
)
def test_digest_changes_when_the_content_changes(
    change: Callable[[dict[str, Any]], None],
) -> None:
    changed = json.loads(json.dumps(HELLO))
    change(changed)
    assert digest(changed) != digest(HELLO)


# Retries


def retried(**policy: Any) -> pipelines.Retries | None:
    """Return the retry policy parsed from a one-task pipeline whose task has ``policy``."""
    return pipelines.parse(config(task(retries=policy))).tasks[0].retries


def test_a_task_has_no_retries_unless_given() -> None:
    assert pipelines.parse(config()).tasks[0].retries is None


def test_retries_parse_with_durations_as_strings() -> None:
    policy = retried(attempts=3, backoff="10s", factor=3, max_backoff="1m30s", on_exit_codes=[75])
    assert policy == pipelines.Retries(
        attempts=3, backoff=10.0, factor=3.0, max_backoff=90.0, on_exit_codes=[75]
    )


def test_retries_need_only_attempts_and_default_the_rest() -> None:
    policy = retried(attempts=2)
    assert policy is not None
    assert (policy.backoff, policy.factor, policy.max_backoff, policy.on_exit_codes) == (
        0.0,
        2.0,
        300.0,
        [],
    )


@pytest.mark.parametrize("attempts", [1, 100])
def test_retries_accept_attempts_from_one_to_a_hundred(attempts: int) -> None:
    policy = retried(attempts=attempts)
    assert policy is not None and policy.attempts == attempts


@pytest.mark.parametrize(
    ("attempts", "reason"), [(0, "greater than or equal to 1"), (101, "less than or equal to 100")]
)
def test_retries_refuse_attempts_out_of_range_naming_the_field(attempts: int, reason: str) -> None:
    error = invalid(config(task(), task(id="b", retries={"attempts": attempts})))
    assert error.field == "tasks[1].retries.attempts"
    assert error.message.startswith("pipeline: field 'tasks[1].retries.attempts' ")
    assert reason in error.message


def test_retries_without_attempts_are_refused() -> None:
    error = invalid(config(task(retries={"backoff": "1s"})))
    assert error.message == "pipeline: field 'tasks[0].retries.attempts' is required"


def test_retries_refuse_an_unknown_key_naming_it() -> None:
    error = invalid(config(task(retries={"attempts": 2, "delay": "1s"})))
    assert error.field == "tasks[0].retries.delay"
    assert error.message == "pipeline: field 'tasks[0].retries.delay' is not a known field"


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"attempts": 2, "backoff": "soon"}, "backoff"),
        ({"attempts": 2, "max_backoff": "-1s"}, "max_backoff"),
        ({"attempts": 2, "factor": 0.5}, "factor"),
        ({"attempts": 2, "factor": 11}, "factor"),
        ({"attempts": 2, "on_exit_codes": 75}, "on_exit_codes"),
        ({"attempts": 2, "on_exit_codes": ["x"]}, "on_exit_codes[0]"),
        ("three", "retries"),
    ],
)
def test_retries_refuse_bad_values_naming_the_field(policy: object, field: str) -> None:
    error = invalid(config(task(retries=policy)))
    expected = "tasks[0].retries" if field == "retries" else f"tasks[0].retries.{field}"
    assert error.field == expected


@pytest.mark.parametrize("written", [0, "0s"])
def test_retries_accept_the_default_backoff_spelled_out(written: object) -> None:
    assert retried(attempts=2, backoff=written) == retried(attempts=2)


@pytest.mark.parametrize(
    ("policy", "delays"),
    [
        ({"backoff": 10, "factor": 2, "max_backoff": 300}, [10, 20, 40, 80, 160, 300, 300]),
        ({"backoff": 10, "factor": 3, "max_backoff": 100}, [10, 30, 90, 100, 100, 100, 100]),
        ({"backoff": 5, "factor": 1, "max_backoff": 300}, [5, 5, 5, 5, 5, 5, 5]),
        ({"backoff": 600, "factor": 2, "max_backoff": 300}, [300] * 7),
        ({}, [0] * 7),
    ],
)
def test_delay_grows_by_the_factor_and_stops_at_max_backoff(
    policy: dict[str, float], delays: list[float]
) -> None:
    retries = pipelines.Retries(attempts=8, **policy)
    assert [retries.delay(attempt) for attempt in range(1, 8)] == delays


def test_delay_stays_capped_for_the_last_of_a_hundred_attempts() -> None:
    retries = pipelines.Retries(attempts=100, backoff=3600, factor=10, max_backoff=600)
    assert retries.delay(99) == 600.0


def test_canonical_json_of_retries_keeps_only_what_differs_from_the_defaults() -> None:
    spelled = config(
        task(retries={"attempts": 3, "factor": 2, "max_backoff": "5m", "on_exit_codes": []})
    )
    text = pipelines.canonical_json(pipelines.parse(spelled))
    assert text == (
        '{"id":"p","tasks":[{"id":"a","image":"busybox:stable","retries":{"attempts":3}}]}'
    )
    assert digest(spelled) == digest(config(task(retries={"attempts": 3})))


def test_digest_of_a_task_without_retries_is_what_it_was_before_retries_existed() -> None:
    # Versions registered before retries existed keep their digest: the field is left out.
    before = b'{"id":"p","tasks":[{"id":"a","image":"busybox:stable"}]}'
    assert digest(config()) == "sha256:" + hashlib.sha256(before).hexdigest()
    assert digest(config(task(retries=None))) == digest(config())


@pytest.mark.parametrize(
    "policy",
    [
        {"attempts": 2},
        {"attempts": 3, "backoff": "2s"},
        {"attempts": 3, "factor": 3},
        {"attempts": 3, "max_backoff": "1m"},
        {"attempts": 3, "on_exit_codes": [75]},
    ],
)
def test_digest_changes_when_retries_are_added_or_changed(policy: dict[str, Any]) -> None:
    assert digest(config(task(retries=policy))) != digest(config(task(retries={"attempts": 3})))
    assert digest(config(task(retries=policy))) != digest(config())


def test_retries_round_trip_through_canonical_json() -> None:
    first = pipelines.parse(
        config(task(retries={"attempts": 4, "backoff": "1m", "on_exit_codes": [1, 75]}))
    )
    assert pipelines.parse(json.loads(pipelines.canonical_json(first))) == first
