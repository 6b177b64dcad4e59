"""Deleting a run's task logs, by request and by retention (the newest N runs of each pipeline)."""

from __future__ import annotations

import datetime

import pytest

from hostler import testing
from hostler.core import errors, ports, runs, tasks
from hostler.services import housekeeping, pipelines
from hostler.services import runs as run_service
from hostler.services import tasks as task_service
from hostler.services.context import Context

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
LINE = ports.LogLine(NOW, "stdout", "hello")
CONFIG = {
    "id": "hello",
    "tasks": [
        {"id": "fetch", "image": "busybox"},
        {"id": "build", "image": "busybox", "depends_on": {"fetch": "success"}},
    ],
}


@pytest.fixture
def ctx() -> Context:
    """A context over the in-memory fakes with the hello pipeline live in two namespaces."""
    context = Context(store=testing.MemoryStore(), logs=testing.MemoryLogStore(), clock=lambda: NOW)
    pipelines.up(context, "default", CONFIG)
    return context


def finished_run(ctx: Context, pipeline: str = "hello") -> runs.Run:
    """Start a run, give each task a stored log and complete everything, as the engine would."""
    run = run_service.start(ctx, "default", pipeline)
    for execution in ctx.store.list_executions("default", pipeline, run.id):
        ctx.logs.append(execution.log_key, [LINE])
        ctx.logs.end(execution.log_key)
        ctx.store.update_execution(
            execution.evolve(state=tasks.State.COMPLETE, status=tasks.Status.SUCCESSFUL),
            execution.revision,
        )
    ended = run.evolve(state=runs.State.COMPLETE, status=runs.Status.SUCCESSFUL, ended=NOW)
    return ctx.store.update_run(ended, run.revision)


def has_logs(ctx: Context, run: runs.Run) -> list[bool]:
    """Tell for each task execution of ``run`` whether its log is still stored."""
    found = []
    for execution in ctx.store.list_executions(run.namespace, run.pipeline, run.id):
        try:
            ctx.logs.read(execution.log_key)
            found.append(True)
        except errors.NotFound:
            found.append(False)
    return found


def test_delete_logs_removes_every_log_and_records_when(ctx: Context) -> None:
    run = finished_run(ctx)

    done = run_service.delete_logs(ctx, "default", "hello", run.id)

    assert done.changed
    assert done.run.logs_deleted == NOW
    assert has_logs(ctx, run) == [False, False]
    assert ctx.store.get_run("default", "hello", run.id).logs_deleted == NOW
    statuses = [e.status for e in ctx.store.list_executions("default", "hello", run.id)]
    assert statuses == [tasks.Status.SUCCESSFUL, tasks.Status.SUCCESSFUL]


def test_deleting_logs_twice_changes_nothing(ctx: Context) -> None:
    run = finished_run(ctx)
    first = run_service.delete_logs(ctx, "default", "hello", run.id)

    again = run_service.delete_logs(ctx, "default", "hello", run.id)

    assert not again.changed
    assert again.run == first.run


def test_the_logs_of_a_run_not_complete_are_not_deleted(ctx: Context) -> None:
    run = run_service.start(ctx, "default", "hello")
    execution = ctx.store.list_executions("default", "hello", run.id)[0]
    ctx.logs.append(execution.log_key, [LINE])

    with pytest.raises(errors.FailedPrecondition, match="is pending") as caught:
        run_service.delete_logs(ctx, "default", "hello", run.id)

    assert caught.value.field == "run"
    assert ctx.logs.read(execution.log_key).lines == [LINE]


def test_reading_a_deleted_log_says_it_was_deleted_and_when(ctx: Context) -> None:
    run = finished_run(ctx)
    run_service.delete_logs(ctx, "default", "hello", run.id)
    execution = ctx.store.get_execution("default", "hello", run.id, "fetch")

    with pytest.raises(errors.NotFound, match="deleted with the logs of run") as caught:
        task_service.read_log(ctx, execution)

    assert "2026-03-01T12:00:00+00:00" in caught.value.message
    assert "logs.keep_runs" in (caught.value.hint or "")


def test_a_task_that_never_ran_still_has_an_empty_ended_log(ctx: Context) -> None:
    run = run_service.start(ctx, "default", "hello")
    execution = ctx.store.get_execution("default", "hello", run.id, "fetch")
    done = ctx.store.update_execution(
        execution.evolve(state=tasks.State.COMPLETE, status=tasks.Status.SKIPPED),
        execution.revision,
    )

    assert task_service.read_log(ctx, done) == ports.LogChunk([], 0, True)


def test_prune_logs_keeps_the_newest_runs_of_each_pipeline(ctx: Context) -> None:
    pipelines.up(ctx, "default", {**CONFIG, "id": "other"})
    hello = [finished_run(ctx) for _ in range(4)]
    other = [finished_run(ctx, "other") for _ in range(2)]
    active = run_service.start(ctx, "default", "hello")

    assert housekeeping.prune_logs(ctx, keep_runs=2) == 3

    # The newest two of 'hello' are the running run 5 (kept, it is not complete) and run 4.
    assert [has_logs(ctx, run) for run in hello] == [[False, False]] * 3 + [[True, True]]
    assert [has_logs(ctx, run) for run in other] == [[True, True]] * 2
    assert ctx.store.get_run("default", "hello", active.id).logs_deleted is None
    assert housekeeping.prune_logs(ctx, keep_runs=2) == 0  # nothing is deleted twice


def test_prune_logs_with_no_limit_keeps_everything(ctx: Context) -> None:
    runs_ = [finished_run(ctx) for _ in range(3)]

    assert housekeeping.prune_logs(ctx, keep_runs=0) == 0
    assert [has_logs(ctx, run) for run in runs_] == [[True, True]] * 3
