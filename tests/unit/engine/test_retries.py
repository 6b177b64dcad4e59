"""Retries over the in-memory fakes: automatic retries by the engine, and retries asked by hand.

Containers pick their behaviour by the attempt they run (``HOSTLER_ATTEMPT`` in their spec), so a
task fails on its first attempts and succeeds on a later one. A back-off long enough never to end
during a test shows what waits; ``Engine.pass_once``, called from the test, makes sure the engine
has looked at a run since. Assertions are on states, reasons, attempts and containers, never on
how long something took.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from hostler import testing
from hostler.core import errors, ports, reasons, runs, tasks
from hostler.services import context, pipelines
from hostler.services import runs as run_service

from . import test_dispatcher
from .test_dispatcher import FOREVER, Harness, Make, run_of, task, task_of, until

make = test_dispatcher.make
"""The dispatcher tests' fixture: builds running engines over fresh fakes."""

FAIL = testing.Behaviour(["failing"], exit_code=1)
PASS = testing.Behaviour(["passing"])
CANCELLED = reasons.Reason(reasons.Kind.CANCELLED, "cancelled on request")
Choose = Callable[[ports.ContainerSpec], testing.Behaviour]


def attempt_of(spec: ports.ContainerSpec) -> int:
    """Return the attempt a container runs, as the task sees it."""
    return int(spec.env["HOSTLER_ATTEMPT"])


def by_attempt(task_id: str, *behaviours: testing.Behaviour) -> Choose:
    """Return a chooser: attempt N of ``task_id`` does ``behaviours[N-1]`` (the last one after
    that); every other task exits 0 at once."""

    def choose(spec: ports.ContainerSpec) -> testing.Behaviour:
        if task_of(spec.labels) != task_id:
            return PASS
        return behaviours[min(attempt_of(spec), len(behaviours)) - 1]

    return choose


def attempts(h: Harness, run: runs.Run, task_id: str) -> list[tasks.Execution]:
    """Return every attempt of ``task_id`` in ``run``, first to last."""
    found = h.ctx.store.list_executions(run.namespace, run.pipeline, run.id)
    return sorted((e for e in found if e.task == task_id), key=lambda e: e.attempt)


def created(h: Harness) -> list[tuple[str, int]]:
    """Return the task and attempt of each container made, in order."""
    return [(task_of(spec.labels), attempt_of(spec)) for spec in h.fake.created]


def started_after_exit(h: Harness, later: str, earlier: tuple[str, int]) -> bool:
    """Tell whether every container of ``later`` started after ``earlier`` (task, attempt)
    exited."""
    events = [
        (e.kind, task_of(e.labels), int(e.labels[ports.LABEL_PREFIX + "attempt"]))
        for e in h.fake.timeline
    ]
    exited = events.index(("exited", *earlier))
    starts = [i for i, (kind, t, _) in enumerate(events) if kind == "started" and t == later]
    return bool(starts) and all(i > exited for i in starts)


# automatic retries --------------------------------------------------------------------------


def test_a_task_that_fails_twice_then_succeeds_ends_successful_after_three_attempts(
    make: Make,
) -> None:
    h = make(by_attempt("flaky", FAIL, FAIL, PASS))
    config = {
        "id": "flaky",
        "tasks": [
            task("flaky", retries={"attempts": 3}),
            task("after", depends_on={"flaky": "success"}),
        ],
    }
    run = h.wait(h.start(h.deploy(config)))

    assert (run.status, run.reason) == (runs.Status.SUCCESSFUL, None)
    tried = attempts(h, run, "flaky")
    assert [(e.attempt, e.status, e.exit_code) for e in tried] == [
        (1, tasks.Status.FAILED, 1),
        (2, tasks.Status.FAILED, 1),
        (3, tasks.Status.SUCCESSFUL, 0),
    ]
    assert [e.reason for e in tried] == [
        reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 1"),
        reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 1"),
        None,  # queueing cleared the retry_backoff reason; success gives none
    ]
    assert {e.position for e in tried} == {0}
    [after] = attempts(h, run, "after")
    assert (after.attempt, after.status) == (1, tasks.Status.SUCCESSFUL)
    assert created(h) == [("flaky", 1), ("flaky", 2), ("flaky", 3), ("after", 1)]
    assert started_after_exit(h, "after", ("flaky", 3))


def test_each_attempt_keeps_its_own_log(make: Make) -> None:
    def talk(spec: ports.ContainerSpec) -> testing.Behaviour:
        n = attempt_of(spec)
        return testing.Behaviour([f"attempt {n}"], exit_code=0 if n == 2 else 1)

    h = make(talk)
    run = h.wait(h.start(h.deploy({"id": "talky", "tasks": [task("t", retries={"attempts": 2})]})))

    assert [[line.text for line in h.log(e).lines] for e in attempts(h, run, "t")] == [
        ["attempt 1"],
        ["attempt 2"],
    ]


def test_an_exit_code_not_in_on_exit_codes_is_not_retried_and_the_run_fails(make: Make) -> None:
    h = make(by_attempt("picky", FAIL, PASS))
    config = {
        "id": "picky",
        "tasks": [task("picky", retries={"attempts": 3, "on_exit_codes": [75]})],
    }
    run = h.wait(h.start(h.deploy(config)))

    assert run.status is runs.Status.FAILED
    assert run.reason == reasons.Reason(
        reasons.Kind.TASK_FAILED, "task 'picky' failed: exited with code 1"
    )
    assert [(e.attempt, e.status) for e in attempts(h, run, "picky")] == [(1, tasks.Status.FAILED)]
    assert created(h) == [("picky", 1)]


def test_an_exit_code_in_on_exit_codes_is_retried(make: Make) -> None:
    h = make(by_attempt("picky", testing.Behaviour([], exit_code=75), PASS))
    config = {
        "id": "picky",
        "tasks": [task("picky", retries={"attempts": 3, "on_exit_codes": [75]})],
    }
    run = h.wait(h.start(h.deploy(config)))

    assert run.status is runs.Status.SUCCESSFUL
    assert [(e.attempt, e.exit_code) for e in attempts(h, run, "picky")] == [(1, 75), (2, 0)]


def test_when_the_attempts_are_used_up_the_run_fails_with_every_attempt_recorded(
    make: Make,
) -> None:
    h = make(by_attempt("doomed", FAIL))
    config = {
        "id": "doomed",
        "tasks": [
            task("doomed", retries={"attempts": 3}),
            task("after", depends_on={"doomed": "success"}),
        ],
    }
    run = h.wait(h.start(h.deploy(config)))

    assert run.status is runs.Status.FAILED
    assert run.reason == reasons.Reason(
        reasons.Kind.TASK_FAILED, "task 'doomed' failed: exited with code 1"
    )
    assert [(e.attempt, e.status) for e in attempts(h, run, "doomed")] == [
        (1, tasks.Status.FAILED),
        (2, tasks.Status.FAILED),
        (3, tasks.Status.FAILED),
    ]
    [after] = attempts(h, run, "after")
    assert after.status is tasks.Status.SKIPPED
    assert created(h) == [("doomed", 1), ("doomed", 2), ("doomed", 3)]


def test_a_task_over_its_own_timeout_is_retried(make: Make) -> None:
    h = make(by_attempt("slow", FOREVER, PASS))
    config = {"id": "slow", "tasks": [task("slow", timeout="50ms", retries={"attempts": 2})]}
    run = h.wait(h.start(h.deploy(config)))

    assert run.status is runs.Status.SUCCESSFUL
    first, second = attempts(h, run, "slow")
    assert first.reason == reasons.Reason(reasons.Kind.TIMEOUT, "exceeded its timeout of 50ms")
    assert second.status is tasks.Status.SUCCESSFUL


def test_a_task_stopped_by_the_run_timeout_is_not_retried(make: Make) -> None:
    h = make(FOREVER)
    config = {"id": "bounded", "timeout": "100ms", "tasks": [task("hold", retries={"attempts": 3})]}
    run = h.wait(h.start(h.deploy(config)))

    assert run.status is runs.Status.FAILED
    assert run.reason is not None and run.reason.kind is reasons.Kind.RUN_TIMEOUT
    [only] = attempts(h, run, "hold")
    assert only.status is tasks.Status.CANCELLED
    assert created(h) == [("hold", 1)]


def test_a_retry_waiting_for_its_back_off_holds_its_dependents_until_the_run_is_cancelled(
    make: Make,
) -> None:
    h = make(by_attempt("flaky", FAIL, PASS))
    config = {
        "id": "patient",
        "tasks": [
            task("flaky", retries={"attempts": 3, "backoff": "1h", "max_backoff": "1h"}),
            task("after", depends_on={"flaky": "success"}),
            task("always", depends_on={"flaky": "any"}),
        ],
    }
    run = h.start(h.deploy(config))
    until(lambda: len(attempts(h, run, "flaky")) == 2, "a second attempt of 'flaky' is added")
    h.engine.pass_once()  # the engine has looked at the run since

    first, second = attempts(h, run, "flaky")
    assert first.status is tasks.Status.FAILED
    assert (second.state, second.status) == (tasks.State.WAITING, tasks.Status.UNKNOWN)
    assert second.reason == reasons.Reason(
        reasons.Kind.RETRY_BACKOFF,
        "attempt 2 of 3 starts 1h after attempt 1 failed: exited with code 1",
    )
    for dependent in ("after", "always"):
        [waiting] = attempts(h, run, dependent)
        assert (waiting.state, waiting.reason) == (tasks.State.WAITING, None)
    assert h.get(run).state is runs.State.RUNNING
    assert created(h) == [("flaky", 1)]

    run_service.cancel(h.ctx, "default", "patient", run.id)
    run = h.wait(run)

    assert (run.status, run.reason) == (runs.Status.CANCELLED, CANCELLED)
    second = attempts(h, run, "flaky")[-1]
    assert (second.attempt, second.status, second.reason) == (
        2,
        tasks.Status.CANCELLED,
        CANCELLED,
    )
    assert [e.status for e in attempts(h, run, "after") + attempts(h, run, "always")] == [
        tasks.Status.CANCELLED,
        tasks.Status.CANCELLED,
    ]
    assert created(h) == [("flaky", 1)]


# retries by hand ----------------------------------------------------------------------------

CHAIN = {
    "id": "chain",
    "tasks": [
        task("build"),
        task("deploy", depends_on={"build": "success"}),
        task("publish", depends_on={"deploy": "success"}),
        task("cleanup", depends_on={"build": "any"}),
    ],
}
"""``deploy`` and, through it, ``publish`` are skipped when ``build`` fails; ``cleanup`` runs."""


def failed_chain(h: Harness) -> runs.Run:
    """Run CHAIN to its end, ``build`` failing; return the failed run."""
    run = h.wait(h.start(h.deploy(CHAIN)))
    assert run.status is runs.Status.FAILED
    latest = tasks.latest_attempts(h.ctx.store.list_executions("default", "chain", run.id))
    assert {t: e.status for t, e in latest.items()} == {
        "build": tasks.Status.FAILED,
        "deploy": tasks.Status.SKIPPED,
        "publish": tasks.Status.SKIPPED,
        "cleanup": tasks.Status.SUCCESSFUL,
    }
    return run


def test_a_retry_by_hand_reopens_the_run_and_reruns_the_task_and_what_it_skipped(
    make: Make,
) -> None:
    h = make(by_attempt("build", FAIL, PASS))
    run = failed_chain(h)

    retried = run_service.retry(h.ctx, "default", "chain", run.id, "build")

    assert (retried.run.state, retried.run.status) == (runs.State.PENDING, runs.Status.UNKNOWN)
    assert (retried.run.reason, retried.run.started, retried.run.ended) == (None, None, None)
    assert [(e.task, e.attempt, e.state, e.reason) for e in retried.attempts] == [
        ("build", 2, tasks.State.WAITING, None),
        ("deploy", 2, tasks.State.WAITING, None),
        ("publish", 2, tasks.State.WAITING, None),
    ]
    run = h.wait(run)

    assert (run.status, run.reason) == (runs.Status.SUCCESSFUL, None)
    for task_id in ("build", "deploy", "publish"):
        assert [e.attempt for e in attempts(h, run, task_id)] == [1, 2]
        assert attempts(h, run, task_id)[-1].status is tasks.Status.SUCCESSFUL
    [cleanup] = attempts(h, run, "cleanup")  # it ran on 'any' already: not again
    assert cleanup.status is tasks.Status.SUCCESSFUL
    assert created(h) == [
        ("build", 1),
        ("cleanup", 1),
        ("build", 2),
        ("deploy", 2),
        ("publish", 2),
    ]
    assert started_after_exit(h, "deploy", ("build", 2))
    assert started_after_exit(h, "publish", ("deploy", 2))


def test_a_retry_by_hand_of_a_cancelled_run_clears_the_cancel_request(make: Make) -> None:
    h = make(by_attempt("work", FOREVER, PASS))
    run = h.start(h.deploy({"id": "stopped", "tasks": [task("work")]}))
    h.running(run, "work")
    run_service.cancel(h.ctx, "default", "stopped", run.id)
    assert h.wait(run).status is runs.Status.CANCELLED

    retried = run_service.retry(h.ctx, "default", "stopped", run.id, "work")
    run = h.wait(run)

    assert retried.run.cancel_requested is False
    assert (run.status, run.cancel_requested) == (runs.Status.SUCCESSFUL, False)
    assert [(e.attempt, e.status) for e in attempts(h, run, "work")] == [
        (1, tasks.Status.CANCELLED),
        (2, tasks.Status.SUCCESSFUL),
    ]


def test_a_retry_by_hand_of_a_task_that_succeeded_is_refused_naming_the_task(
    make: Make,
) -> None:
    h = make(by_attempt("build", FAIL, PASS))
    run = failed_chain(h)

    with pytest.raises(errors.FailedPrecondition) as caught:
        run_service.retry(h.ctx, "default", "chain", run.id, "cleanup")

    assert caught.value.field == "task"
    assert caught.value.message.startswith(
        "task 'cleanup' of run 'default/chain#1': is successful; "
    )
    assert h.get(run) == run
    assert len(h.ctx.store.list_executions("default", "chain", run.id)) == 4


def test_a_retry_by_hand_of_a_skipped_task_is_refused(make: Make) -> None:
    h = make(by_attempt("build", FAIL, PASS))
    run = failed_chain(h)

    with pytest.raises(errors.FailedPrecondition, match="is skipped") as caught:
        run_service.retry(h.ctx, "default", "chain", run.id, "deploy")

    assert caught.value.field == "task"
    assert h.get(run) == run


def test_a_retry_by_hand_of_an_unknown_task_or_run_is_not_found(make: Make) -> None:
    h = make(by_attempt("build", FAIL, PASS))
    run = failed_chain(h)

    with pytest.raises(errors.NotFound, match=r"^task 'nope': not found in pipeline 'chain'$"):
        run_service.retry(h.ctx, "default", "chain", run.id, "nope")
    with pytest.raises(errors.NotFound, match=r"^run 'default/chain#9': not found"):
        run_service.retry(h.ctx, "default", "chain", 9, "build")
    assert h.get(run) == run


def test_a_retry_by_hand_of_a_run_with_a_timeout_runs_after_that_timeout_has_passed(
    make: Make,
) -> None:
    h = make(by_attempt("build", FAIL, PASS))
    run = h.wait(h.start(h.deploy({"id": "bounded", "timeout": "1h", "tasks": [task("build")]})))
    assert run.status is runs.Status.FAILED
    assert run.started is not None
    # The run failed two hours ago; its hour has passed since.
    h.ctx.store.update_run(
        run.evolve(started=run.started - datetime.timedelta(hours=2)), run.revision
    )

    run_service.retry(h.ctx, "default", "bounded", run.id, "build")
    run = h.wait(run)

    assert (run.status, run.reason) == (runs.Status.SUCCESSFUL, None)


def test_a_retry_by_hand_keeps_within_the_pipelines_parallelism(make: Make) -> None:
    def choose(spec: ports.ContainerSpec) -> testing.Behaviour:
        return FAIL if (run_of(spec.labels), attempt_of(spec)) == ("1", 1) else FOREVER

    h = make(choose)
    pipeline = h.deploy({"id": "serial", "parallelism": 1, "tasks": [task("work")]})
    first = h.wait(h.start(pipeline))
    assert first.status is runs.Status.FAILED
    second = h.start(pipeline)
    h.running(second, "work")

    run_service.retry(h.ctx, "default", "serial", first.id, "work")
    h.engine.pass_once()

    assert h.ctx.store.count_runs("default", "serial", runs.State.RUNNING) == 1


# the use case on its own, without an engine ---------------------------------------------------


@pytest.fixture
def quiet() -> context.Context:
    """Return a context over an in-memory store with no engine: nothing moves by itself."""
    return context.Context(
        store=testing.MemoryStore(), logs=testing.MemoryLogStore(), wake=lambda: None
    )


def running_run(ctx: context.Context, config: dict[str, Any]) -> runs.Run:
    """Start a run of ``config`` and set it running; return it."""
    pipelines.up(ctx, "default", config)
    run = run_service.start(ctx, "default", str(config["id"]))
    return ctx.store.update_run(run.evolve(state=runs.State.RUNNING), run.revision)


def end(ctx: context.Context, run: runs.Run, task_id: str, status: tasks.Status) -> None:
    """Write the latest attempt of ``task_id`` complete with ``status``."""
    execution = ctx.store.get_execution(run.namespace, run.pipeline, run.id, task_id)
    ctx.store.update_execution(
        execution.evolve(state=tasks.State.COMPLETE, status=status), execution.revision
    )


PAIR = {"id": "pair", "tasks": [task("first"), task("second", depends_on={"first": "success"})]}


def test_a_retry_by_hand_while_the_run_runs_adds_the_attempt_without_reopening(
    quiet: context.Context,
) -> None:
    run = running_run(quiet, PAIR)
    end(quiet, run, "first", tasks.Status.FAILED)

    retried = run_service.retry(quiet, "default", "pair", run.id, "first")

    assert retried.run == run.evolve(revision=run.revision + 1)
    assert [(e.task, e.attempt) for e in retried.attempts] == [("first", 2)]
    # 'second' still waits: it was not skipped, so it needs no attempt of its own
    second = quiet.store.get_execution("default", "pair", run.id, "second")
    assert (second.attempt, second.state) == (1, tasks.State.WAITING)


def test_a_retry_by_hand_while_the_run_is_being_cancelled_is_refused(
    quiet: context.Context,
) -> None:
    run = running_run(quiet, PAIR)
    end(quiet, run, "first", tasks.Status.FAILED)
    run_service.cancel(quiet, "default", "pair", run.id)

    with pytest.raises(errors.FailedPrecondition, match="is being cancelled") as caught:
        run_service.retry(quiet, "default", "pair", run.id, "first")

    assert caught.value.field == "run"
    assert len(quiet.store.list_executions("default", "pair", run.id)) == 2


def test_a_retry_by_hand_of_a_task_that_has_not_ended_is_refused(
    quiet: context.Context,
) -> None:
    run = running_run(quiet, PAIR)

    with pytest.raises(errors.FailedPrecondition, match=r"'first' .*: is waiting;") as caught:
        run_service.retry(quiet, "default", "pair", run.id, "first")

    assert caught.value.field == "task"


@pytest.mark.parametrize("status", [tasks.Status.FAILED, tasks.Status.LOST, tasks.Status.CANCELLED])
def test_a_task_that_failed_was_lost_or_was_cancelled_can_be_retried_by_hand(
    quiet: context.Context, status: tasks.Status
) -> None:
    run = running_run(quiet, PAIR)
    end(quiet, run, "first", status)

    retried = run_service.retry(quiet, "default", "pair", run.id, "first")

    assert [(e.task, e.attempt) for e in retried.attempts] == [("first", 2)]
