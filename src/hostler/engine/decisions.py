"""Pure decisions of the engine: what happens to a waiting task, how a run ends.

Kept free of I/O so that every rule is unit-tested without a database or a container.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from hostler.core import durations, pipelines, reasons, runs, tasks

_FAILED = (tasks.Status.FAILED, tasks.Status.LOST)
_NOT_RETRIED = (reasons.Kind.RUN_TIMEOUT, reasons.Kind.CANCELLED)
"""A task stopped because its run ends is not tried again."""


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


def retry(task: pipelines.TaskConfig, execution: tasks.Execution) -> reasons.Reason | None:
    """Decide whether a complete ``execution`` is tried again under the task's ``retries``.

    Returns the reason to give the next attempt while it waits (its kind ``retry_backoff``), or None
    when there is no retry: the attempt did not fail, the attempts are used up, the run is being
    stopped, or the exit code is not one of ``on_exit_codes``.
    """
    policy = task.retries
    if policy is None or execution.state is not tasks.State.COMPLETE:
        return None
    if execution.status not in _FAILED or execution.attempt >= policy.attempts:
        return None
    if execution.reason is not None and execution.reason.kind in _NOT_RETRIED:
        return None
    if policy.on_exit_codes and execution.exit_code not in policy.on_exit_codes:
        return None
    why = execution.reason.description if execution.reason else execution.status.value
    return reasons.Reason(
        reasons.Kind.RETRY_BACKOFF,
        f"attempt {execution.attempt + 1} of {policy.attempts} starts "
        f"{durations.format(policy.delay(execution.attempt))} after attempt "
        f"{execution.attempt} {execution.status.value}: {why}",
    )


def retry_due(
    task: pipelines.TaskConfig, previous: tasks.Execution, waiting: tasks.Execution
) -> datetime.datetime | None:
    """Return when the ``waiting`` attempt may be queued after its ``previous`` attempt.

    An automatic retry (reason ``retry_backoff``) waits its back-off from the end of the previous
    attempt; a retry asked for by hand is due at once (None).
    """
    if waiting.reason is None or waiting.reason.kind is not reasons.Kind.RETRY_BACKOFF:
        return None
    if task.retries is None or previous.ended is None:
        return None
    return previous.ended + datetime.timedelta(seconds=task.retries.delay(previous.attempt))
