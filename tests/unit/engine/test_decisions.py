"""The engine's pure decisions: when a waiting task runs or is skipped, and how a run ends."""

from __future__ import annotations

import datetime

import pytest

from hostler.core import pipelines, reasons, runs, tasks
from hostler.engine import decisions

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def execution(
    task: str, state: tasks.State, status: tasks.Status, **extra: object
) -> tasks.Execution:
    fields: dict[str, object] = {"attempt": 1, "reason": None, **extra}
    return tasks.Execution(
        namespace="default",
        pipeline="p",
        run=1,
        task=task,
        state=state,
        status=status,
        created=NOW,
        **fields,  # type: ignore[arg-type]
    )


def done(task: str, status: tasks.Status, **extra: object) -> tasks.Execution:
    return execution(task, tasks.State.COMPLETE, status, **extra)


def waiting(task: str) -> tasks.Execution:
    return execution(task, tasks.State.WAITING, tasks.Status.UNKNOWN)


def config_task(**depends_on: str) -> pipelines.TaskConfig:
    return pipelines.TaskConfig(
        id="t", image="x", depends_on={k: pipelines.Condition(v) for k, v in depends_on.items()}
    )


@pytest.mark.parametrize(
    ("condition", "status", "met"),
    [
        ("success", tasks.Status.SUCCESSFUL, True),
        ("success", tasks.Status.FAILED, False),
        ("success", tasks.Status.SKIPPED, False),
        ("failure", tasks.Status.FAILED, True),
        ("failure", tasks.Status.LOST, True),
        ("failure", tasks.Status.SUCCESSFUL, False),
        ("any", tasks.Status.SUCCESSFUL, True),
        ("any", tasks.Status.FAILED, True),
        ("any", tasks.Status.SKIPPED, True),
    ],
)
def test_condition_met_follows_the_dependency_status(
    condition: str, status: tasks.Status, met: bool
) -> None:
    assert decisions.condition_met(pipelines.Condition(condition), status) is met


def test_a_task_waits_while_a_dependency_is_not_complete() -> None:
    latest = {"a": execution("a", tasks.State.RUNNING, tasks.Status.UNKNOWN), "t": waiting("t")}
    assert decisions.for_waiting(config_task(a="success"), latest) is None


def test_a_task_is_queued_when_every_condition_is_met() -> None:
    latest = {"a": done("a", tasks.Status.SUCCESSFUL), "b": done("b", tasks.Status.FAILED)}
    assert decisions.for_waiting(config_task(a="success", b="any"), latest) == (
        tasks.Event.QUEUE,
        None,
    )


def test_a_task_is_skipped_naming_the_unmet_dependency() -> None:
    latest = {"a": done("a", tasks.Status.FAILED)}
    decision = decisions.for_waiting(config_task(a="success"), latest)
    assert decision is not None
    event, reason = decision
    assert event is tasks.Event.SKIP
    assert reason is not None and reason.kind is reasons.Kind.DEPENDENCY_NOT_MET
    assert "'a' ended failed" in reason.description


def test_a_task_without_dependencies_is_queued_at_once() -> None:
    assert decisions.for_waiting(config_task(), {}) == (tasks.Event.QUEUE, None)


def test_latest_attempts_keeps_the_highest_attempt() -> None:
    first = done("a", tasks.Status.FAILED)
    second = execution("a", tasks.State.RUNNING, tasks.Status.UNKNOWN, attempt=2)
    assert decisions.latest_attempts([second, first])["a"] is second


def run(**extra: object) -> runs.Run:
    return runs.Run(
        namespace="default",
        pipeline="p",
        id=1,
        version=1,
        state=runs.State.RUNNING,
        status=runs.Status.UNKNOWN,
        reason=None,
        variables={},
        trigger="manual",
        created=NOW,
        **extra,  # type: ignore[arg-type]
    )


def test_a_run_does_not_end_while_a_task_is_not_complete() -> None:
    latest = {"a": done("a", tasks.Status.SUCCESSFUL), "b": waiting("b")}
    assert decisions.run_outcome(run(), latest) is None


def test_a_run_succeeds_when_no_task_failed_even_with_skipped_tasks() -> None:
    latest = {"a": done("a", tasks.Status.SUCCESSFUL), "b": done("b", tasks.Status.SKIPPED)}
    assert decisions.run_outcome(run(), latest) == (runs.Event.SUCCEED, None)


def test_a_run_fails_naming_the_first_failed_task() -> None:
    latest = {
        "a": done(
            "a",
            tasks.Status.FAILED,
            position=0,
            reason=reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 2"),
        ),
        "b": done("b", tasks.Status.LOST, position=1),
    }
    outcome = decisions.run_outcome(run(), latest)
    assert outcome is not None
    event, reason = outcome
    assert event is runs.Event.FAIL
    assert reason == reasons.Reason(
        reasons.Kind.TASK_FAILED, "task 'a' failed: exited with code 2 (and 1 more)"
    )


def test_a_cancel_request_makes_the_run_cancelled() -> None:
    latest = {"a": done("a", tasks.Status.CANCELLED)}
    outcome = decisions.run_outcome(run(cancel_requested=True), latest)
    assert outcome is not None and outcome[0] is runs.Event.CANCEL


def test_a_run_timeout_makes_the_run_failed_with_that_reason() -> None:
    timeout = reasons.Reason(reasons.Kind.RUN_TIMEOUT, "the run exceeded its timeout of 5s")
    latest = {"a": done("a", tasks.Status.CANCELLED, reason=timeout)}
    assert decisions.run_outcome(run(), latest) == (runs.Event.FAIL, timeout)
