"""The engine's pure decisions: when a waiting task runs or is skipped, how a run ends, retries."""

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
    assert tasks.latest_attempts([second, first])["a"] is second


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


# retries ----------------------------------------------------------------------------------

EXIT_2 = reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 2")


def flaky(**policy: object) -> pipelines.TaskConfig:
    """Return the task ``t`` with the retry policy ``policy`` (attempts 3 unless given)."""
    return pipelines.TaskConfig.model_validate(
        {"id": "t", "image": "x", "retries": {"attempts": 3, **policy}}
    )


def failed(attempt: int = 1, **extra: object) -> tasks.Execution:
    """Return attempt ``attempt`` of ``t``, failed with exit code 2 at NOW."""
    fields: dict[str, object] = {"reason": EXIT_2, "exit_code": 2, "ended": NOW, **extra}
    return done("t", tasks.Status.FAILED, attempt=attempt, **fields)


def test_a_failed_attempt_is_retried_with_a_reason_saying_when_and_why() -> None:
    reason = decisions.retry(flaky(backoff="10s"), failed())
    assert reason == reasons.Reason(
        reasons.Kind.RETRY_BACKOFF,
        "attempt 2 of 3 starts 10s after attempt 1 failed: exited with code 2",
    )


def test_the_reason_of_a_later_retry_counts_the_grown_back_off() -> None:
    reason = decisions.retry(flaky(attempts=4, backoff="10s", factor=3), failed(2))
    assert reason is not None
    assert reason.description == (
        "attempt 3 of 4 starts 30s after attempt 2 failed: exited with code 2"
    )


def test_a_lost_attempt_is_retried() -> None:
    lost = reasons.Reason(reasons.Kind.LOST, "the container vanished")
    reason = decisions.retry(flaky(), done("t", tasks.Status.LOST, reason=lost))
    assert reason is not None and reason.kind is reasons.Kind.RETRY_BACKOFF
    assert reason.description.endswith("after attempt 1 lost: the container vanished")


def test_an_attempt_over_its_own_timeout_is_retried() -> None:
    timeout = reasons.Reason(reasons.Kind.TIMEOUT, "exceeded its timeout of 5s")
    assert decisions.retry(flaky(), failed(reason=timeout, exit_code=143)) is not None


def test_a_task_without_retries_is_not_retried() -> None:
    assert decisions.retry(config_task(), failed()) is None


@pytest.mark.parametrize("state", [s for s in tasks.State if s is not tasks.State.COMPLETE])
def test_an_attempt_that_is_not_complete_is_not_retried(state: tasks.State) -> None:
    assert decisions.retry(flaky(), failed().evolve(state=state)) is None


@pytest.mark.parametrize(
    "status", [tasks.Status.SUCCESSFUL, tasks.Status.CANCELLED, tasks.Status.SKIPPED]
)
def test_an_attempt_that_did_not_fail_is_not_retried(status: tasks.Status) -> None:
    assert decisions.retry(flaky(), failed().evolve(status=status)) is None


@pytest.mark.parametrize(("attempts", "last"), [(1, 1), (3, 3), (3, 4)])
def test_no_retry_once_the_attempts_are_used_up(attempts: int, last: int) -> None:
    assert decisions.retry(flaky(attempts=attempts), failed(last)) is None


def test_the_last_attempt_but_one_is_still_retried() -> None:
    reason = decisions.retry(flaky(attempts=3), failed(2))
    assert reason is not None and reason.description.startswith("attempt 3 of 3 ")


@pytest.mark.parametrize("kind", [reasons.Kind.RUN_TIMEOUT, reasons.Kind.CANCELLED])
@pytest.mark.parametrize("status", [tasks.Status.FAILED, tasks.Status.LOST])
def test_an_attempt_stopped_because_its_run_ends_is_not_retried(
    kind: reasons.Kind, status: tasks.Status
) -> None:
    # A run's end makes its tasks cancelled; the reason alone must hold should a task fail then.
    stopped = failed(reason=reasons.Reason(kind, "the run ends")).evolve(status=status)
    assert decisions.retry(flaky(), stopped) is None


@pytest.mark.parametrize(
    ("exit_code", "retried"), [(75, True), (2, True), (1, False), (None, False)]
)
def test_on_exit_codes_limits_retries_to_those_codes(exit_code: int | None, retried: bool) -> None:
    policy = flaky(on_exit_codes=[75, 2])
    assert (decisions.retry(policy, failed(exit_code=exit_code)) is not None) is retried


def test_without_on_exit_codes_any_failure_is_retried_even_one_without_an_exit_code() -> None:
    error = reasons.Reason(reasons.Kind.SCHEDULER_ERROR, "could not start the container: down")
    assert decisions.retry(flaky(), failed(exit_code=None, reason=error)) is not None


def waiting_retry(attempt: int = 2, reason: reasons.Reason | None = None) -> tasks.Execution:
    """Return attempt ``attempt`` of ``t``, waiting with ``reason``."""
    return execution("t", tasks.State.WAITING, tasks.Status.UNKNOWN, attempt=attempt, reason=reason)


BACKING_OFF = reasons.Reason(reasons.Kind.RETRY_BACKOFF, "attempt 2 of 3 starts 10s after ...")


@pytest.mark.parametrize(("previous", "wait"), [(1, 10), (2, 30), (3, 60)])
def test_an_automatic_retry_is_due_its_back_off_after_the_previous_attempt_ended(
    previous: int, wait: int
) -> None:
    task = flaky(attempts=5, backoff="10s", factor=3, max_backoff="1m")
    due = decisions.retry_due(task, failed(previous), waiting_retry(previous + 1, BACKING_OFF))
    assert due == NOW + datetime.timedelta(seconds=wait)


def test_an_automatic_retry_without_back_off_is_due_when_the_previous_attempt_ended() -> None:
    assert decisions.retry_due(flaky(), failed(), waiting_retry(2, BACKING_OFF)) == NOW


def test_a_retry_by_hand_is_due_at_once() -> None:
    assert decisions.retry_due(flaky(backoff="1h"), failed(), waiting_retry(2)) is None


def test_a_waiting_attempt_with_another_reason_is_due_at_once() -> None:
    other = reasons.Reason(reasons.Kind.GLOBAL_LIMIT, "16 tasks are running already")
    assert decisions.retry_due(flaky(backoff="1h"), failed(), waiting_retry(2, other)) is None


def test_a_retry_of_a_task_without_retries_is_due_at_once() -> None:
    assert decisions.retry_due(config_task(), failed(), waiting_retry(2, BACKING_OFF)) is None


def test_a_retry_after_an_attempt_without_an_end_time_is_due_at_once() -> None:
    previous = failed(ended=None)
    assert decisions.retry_due(flaky(backoff="1h"), previous, waiting_retry(2, BACKING_OFF)) is None
