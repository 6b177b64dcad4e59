"""Event kinds, the filters over them, and the events each change makes."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from hostler.core import errors, events, machine, namespaces, pipelines, reasons, runs, tasks

NOW = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def event(
    kind: str,
    namespace: str = "default",
    pipeline: str | None = None,
    run: int | None = None,
    task: str | None = None,
) -> events.Event:
    """Return a stored-looking event of ``kind`` about this subject."""
    return events.Event(1, NOW, kind, namespace, pipeline, run, task)


def run(state: runs.State = runs.State.PENDING, **changes: Any) -> runs.Run:
    return runs.Run(
        namespace="default",
        pipeline="hello",
        id=3,
        version=2,
        state=state,
        status=runs.Status.UNKNOWN,
        reason=None,
        variables={},
        trigger="manual",
        created=NOW,
    ).evolve(**changes)


def execution(state: tasks.State = tasks.State.WAITING, **changes: Any) -> tasks.Execution:
    return tasks.Execution(
        namespace="default",
        pipeline="hello",
        run=3,
        task="fetch",
        attempt=1,
        state=state,
        status=tasks.Status.UNKNOWN,
        reason=None,
        created=NOW,
    ).evolve(**changes)


# kinds ----------------------------------------------------------------------------------------


def test_kinds_are_the_documented_stable_strings() -> None:
    assert events.KINDS == (
        "namespace.created",
        "version.created",
        "pipeline.deployed",
        "pipeline.canary",
        "run.created",
        "run.pending",
        "run.running",
        "run.complete",
        "task.retried",
        "task.queued",
        "task.starting",
        "task.running",
        "task.complete",
        "object.stored",
        "object.deleted",
        "object.evicted",
        "object.expired",
    )
    assert events.FAMILIES == ("namespace", "version", "pipeline", "run", "task", "object")


@pytest.mark.parametrize(
    ("table", "kind_of"),
    [(runs.MACHINE, events.run_kind), (tasks.MACHINE, events.task_kind)],
    ids=["run", "task execution"],
)
def test_every_state_a_machine_can_reach_has_a_kind(
    table: machine.Machine[Any, Any, Any], kind_of: Callable[[Any], str]
) -> None:
    reached = {nxt for nxt, _ in table.table.values()}
    assert reached
    assert all(kind_of(state) in events.KINDS for state in reached)


def test_check_kinds_accepts_exact_kinds_and_family_wildcards() -> None:
    assert events.check_kinds(["run.complete", "task.*", "namespace.*"]) == (
        "run.complete",
        "task.*",
        "namespace.*",
    )
    assert events.check_kinds([]) == ()


@pytest.mark.parametrize("kind", ["run.started", "task.waiting", "runs.*", "*", "run", "RUN.*"])
def test_check_kinds_refuses_an_unknown_kind_naming_the_field_and_the_known_ones(
    kind: str,
) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        events.check_kinds(["run.running", kind])
    assert caught.value.message == f"event kind '{kind}': not a known kind"
    assert caught.value.field == "kind"
    assert caught.value.hint is not None
    assert all(known in caught.value.hint for known in events.KINDS)
    assert "run.*" in caught.value.hint


# filters --------------------------------------------------------------------------------------


def test_an_empty_filter_matches_everything() -> None:
    assert events.Filter().matches(event("namespace.created"))
    assert events.Filter().matches(event("task.running", pipeline="p", run=1, task="t"))


def test_kind_filters_match_exact_kinds_and_whole_families() -> None:
    selected = events.Filter(kinds=("run.*", "task.complete"))
    assert selected.matches(event("run.created"))
    assert selected.matches(event("run.complete"))
    assert selected.matches(event("task.complete"))
    assert not selected.matches(event("task.running"))
    assert not selected.matches(event("pipeline.deployed"))


def test_a_family_wildcard_does_not_match_a_longer_family_name() -> None:
    assert not events.kind_matches("run.*", "runner.created")
    assert events.kind_matches("run.*", "run.created")
    assert events.family_prefix("run.*") == "run."
    assert events.family_prefix("run.created") is None


def test_subject_filters_must_all_match() -> None:
    selected = events.Filter(namespace="default", pipeline="hello", run=3)
    assert selected.matches(event("run.running", pipeline="hello", run=3))
    assert not selected.matches(event("run.running", pipeline="hello", run=4))
    assert not selected.matches(event("run.running", pipeline="other", run=3))
    assert not selected.matches(event("run.running", "team-a", pipeline="hello", run=3))
    assert not selected.matches(event("version.created", pipeline="hello"))


# the events of each change --------------------------------------------------------------------


def test_a_run_change_records_new_state_status_reason_and_previous_state() -> None:
    reason = reasons.Reason(reasons.Kind.TASK_FAILED, "task 'fetch' failed")
    after = run(runs.State.COMPLETE, status=runs.Status.FAILED, reason=reason)
    found = events.run_changed((runs.State.RUNNING, runs.Status.UNKNOWN), after, NOW)
    assert found == events.Event(
        0,
        NOW,
        "run.complete",
        "default",
        "hello",
        3,
        data={
            "state": "complete",
            "status": "failed",
            "reason": {"kind": "task_failed", "description": "task 'fetch' failed"},
            "previous_state": "running",
        },
    )


def test_a_change_of_neither_state_nor_status_records_nothing() -> None:
    reason = reasons.Reason(reasons.Kind.PARALLELISM_LIMIT, "1 run running")
    pending = (runs.State.PENDING, runs.Status.UNKNOWN)
    assert events.run_changed(pending, run(reason=reason, cancel_requested=True), NOW) is None
    moved = execution(tasks.State.STARTING, container="c0ffee", lease_owner="me")
    starting = (tasks.State.STARTING, tasks.Status.UNKNOWN)
    assert events.execution_changed(starting, moved, NOW) is None


def test_a_new_status_in_the_same_state_is_a_change() -> None:
    failed = (tasks.State.COMPLETE, tasks.Status.FAILED)
    lost = execution(tasks.State.COMPLETE, status=tasks.Status.LOST)
    found = events.execution_changed(failed, lost, NOW)
    assert found is not None
    assert (found.kind, found.data["status"]) == ("task.complete", "lost")


def test_a_task_change_names_the_task_and_attempt() -> None:
    waiting = (tasks.State.WAITING, tasks.Status.UNKNOWN)
    found = events.execution_changed(waiting, execution(tasks.State.QUEUED, attempt=2), NOW)
    assert found is not None
    assert (found.kind, found.run, found.task, found.attempt) == ("task.queued", 3, "fetch", 2)
    assert found.data["previous_state"] == "waiting"


def test_a_new_run_records_its_version_and_trigger() -> None:
    found = events.run_created(run(), NOW)
    assert (found.kind, found.run) == ("run.created", 3)
    assert found.data == {
        "state": "pending",
        "status": "unknown",
        "reason": None,
        "previous_state": None,
        "version": 2,
        "trigger": "manual",
    }


def test_namespace_version_and_deployment_events() -> None:
    created = events.namespace_created(namespaces.Namespace("team-a", "", NOW), NOW)
    assert (created.kind, created.namespace) == ("namespace.created", "team-a")
    assert (created.pipeline, created.run, created.data) == (None, None, {})
    cfg = pipelines.parse({"id": "hello", "tasks": [{"id": "a", "image": "alpine"}]})
    version = pipelines.Version("default", "hello", 4, "sha256:ab", cfg, NOW)
    assert events.version_created(version, NOW).data == {"version": 4, "digest": "sha256:ab"}
    live = pipelines.Pipeline("default", "hello", "", 4, NOW, NOW)
    deployed = events.pipeline_deployed(None, live, NOW)
    assert deployed is not None
    assert (deployed.kind, deployed.data) == ("pipeline.deployed", {"from": None, "to": 4})
    assert (deployed.namespace, deployed.pipeline) == ("default", "hello")
    assert events.pipeline_deployed(4, live, NOW) is None
