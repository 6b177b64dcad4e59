"""Pure decisions of the engine: what happens to a waiting task, how a run ends.

Kept free of I/O so that every rule is unit-tested without a database or a container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hostler.core import pipelines, reasons, runs, tasks

_FAILED = (tasks.Status.FAILED, tasks.Status.LOST)


def condition_met(condition: pipelines.Condition, status: tasks.Status) -> bool:
    """Tell whether a dependency that ended with ``status`` satisfies ``condition``."""
    if condition is pipelines.Condition.SUCCESS:
        return status is tasks.Status.SUCCESSFUL
    if condition is pipelines.Condition.FAILURE:
        return status in _FAILED
    return True


def for_waiting(
    task: pipelines.TaskConfig, latest: Mapping[str, tasks.Execution]
) -> tuple[tasks.Event, reasons.Reason | None] | None:
    """Decide what happens to a waiting task, given the latest attempt of every task of its run.

    Returns None while a dependency is not complete, QUEUE when every condition is met, SKIP (with
    the reason naming the first unmet condition) otherwise.
    """
    for dep in task.depends_on:
        if latest[dep].state is not tasks.State.COMPLETE:
            return None
    for dep, condition in task.depends_on.items():
        status = latest[dep].status
        if not condition_met(condition, status):
            return tasks.Event.SKIP, reasons.Reason(
                reasons.Kind.DEPENDENCY_NOT_MET,
                f"task '{dep}' ended {status.value}; this task runs on {condition.value}",
            )
    return tasks.Event.QUEUE, None


def latest_attempts(executions: Sequence[tasks.Execution]) -> dict[str, tasks.Execution]:
    """Return the latest attempt of each task."""
    latest: dict[str, tasks.Execution] = {}
    for execution in executions:
        current = latest.get(execution.task)
        if current is None or execution.attempt > current.attempt:
            latest[execution.task] = execution
    return latest


def run_outcome(
    run: runs.Run, latest: Mapping[str, tasks.Execution]
) -> tuple[runs.Event, reasons.Reason | None] | None:
    """Decide how a running run ends once every task is complete; None while any is not."""
    if any(e.state is not tasks.State.COMPLETE for e in latest.values()):
        return None
    timed_out = [
        e for e in latest.values() if e.reason and e.reason.kind is reasons.Kind.RUN_TIMEOUT
    ]
    if timed_out:
        return runs.Event.FAIL, timed_out[0].reason
    if run.cancel_requested:
        return runs.Event.CANCEL, reasons.Reason(reasons.Kind.CANCELLED, "cancelled on request")
    failed = sorted((e for e in latest.values() if e.status in _FAILED), key=lambda e: e.position)
    if failed:
        first = failed[0]
        why = first.reason.description if first.reason else first.status.value
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return runs.Event.FAIL, reasons.Reason(
            reasons.Kind.TASK_FAILED, f"task '{first.task}' {first.status.value}: {why}{more}"
        )
    return runs.Event.SUCCEED, None
