"""The engine (dispatcher and executor) over the in-memory fakes, driven through the use cases.

Runs are started and cancelled with ``hostler.services``, as the API does; containers follow the
``Behaviour`` each test gives its tasks. Containers that run ``FOREVER`` are ended by the test
(``fake.end``), so that what must happen while they run is observed, not raced. Assertions are on
states, reasons, order and counts, never on how long something took.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import pytest

from hostler import testing
from hostler.core import errors, ports, reasons, runs, tasks
from hostler.engine import dispatcher, executor
from hostler.services import context, pipelines
from hostler.services import runs as run_service
from hostler.services import tasks as task_service

HANG = 10.0
"""Seconds after which something that should happen is taken never to happen."""
POLL = 0.01
GRACE = 0.1
"""The engine's stop grace, in seconds."""
INSTANCE = "unit-test"
P = ports.LABEL_PREFIX
FOREVER = testing.Behaviour([], duration=testing.FOREVER)


def task(id_: str, **extra: Any) -> dict[str, Any]:
    """Return the configuration of a task ``id_`` (image ``busybox``) with ``extra`` fields."""
    return {"id": id_, "image": "busybox", **extra}


def until(condition: Callable[[], bool], what: str) -> None:
    """Return once ``condition()`` holds; fail if it does not within HANG seconds."""
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(POLL)


def task_of(labels: Mapping[str, str]) -> str:
    """Return the task a container ran, from its labels."""
    return labels[P + "task"]


def run_of(labels: Mapping[str, str]) -> str:
    """Return the run a container belonged to, from its labels."""
    return labels[P + "run"]


@dataclasses.dataclass
class Harness:
    """A running engine over fresh fakes, and the context the use cases work through."""

    ctx: context.Context
    engine: dispatcher.Engine
    fake: testing.FakeScheduler

    def deploy(self, config: dict[str, Any]) -> str:
        """Register ``config`` in ``default`` and make it live; return the pipeline id."""
        pipelines.up(self.ctx, "default", config)
        return str(config["id"])

    def start(self, pipeline: str, **variables: str) -> runs.Run:
        """Start a run of ``pipeline`` with ``variables``."""
        return run_service.start(self.ctx, "default", pipeline, variables)

    def get(self, run: runs.Run) -> runs.Run:
        """Return ``run`` as stored now."""
        return run_service.get(self.ctx, run.namespace, run.pipeline, run.id)

    def wait(self, run: runs.Run) -> runs.Run:
        """Return ``run`` once it is complete."""
        until(lambda: self.get(run).state is runs.State.COMPLETE, f"run {run.ref} completes")
        return self.get(run)

    def executions(self, run: runs.Run) -> dict[str, tasks.Execution]:
        """Return the run's task executions by task id."""
        found = self.ctx.store.list_executions(run.namespace, run.pipeline, run.id)
        return {e.task: e for e in found}

    def log(self, execution: tasks.Execution) -> ports.LogChunk:
        """Return the whole stored log of ``execution``."""
        return task_service.read_log(self.ctx, execution)

    def handles(self, run: runs.Run, task_id: str) -> list[str]:
        """Return the handles of the containers made for ``task_id`` of ``run``."""
        labels = {P + "pipeline": run.pipeline, P + "run": str(run.id), P + "task": task_id}
        return self.fake.handles(labels)

    def running(self, run: runs.Run, task_id: str) -> str:
        """Return the handle of the container of ``task_id`` once it runs."""
        until(
            lambda: any(h in self.fake.alive() for h in self.handles(run, task_id)),
            f"task '{task_id}' of {run.ref} runs",
        )
        [handle] = self.handles(run, task_id)
        return handle

    def until_waiting_for_its_turn(self, run: runs.Run) -> None:
        """Return once ``run`` is pending with the reason ``parallelism_limit``."""

        def waiting() -> bool:
            current = self.get(run)
            kind = current.reason.kind if current.reason is not None else None
            return (current.state, kind) == (runs.State.PENDING, reasons.Kind.PARALLELISM_LIMIT)

        until(waiting, f"run {run.ref} waits for the parallelism limit")

    def end_all(self, run: runs.Run) -> runs.Run:
        """End every container as it comes to run, until ``run`` is complete; return it."""

        def step() -> bool:
            for handle in self.fake.alive():
                self.fake.end(handle)
            return self.get(run).state is runs.State.COMPLETE

        until(step, f"run {run.ref} completes")
        return self.get(run)

    def close(self) -> None:
        """Stop the engine and let every task thread finish."""
        self.engine.stop()
        active = [tasks.State.STARTING, tasks.State.RUNNING]
        deadline = time.monotonic() + HANG
        while time.monotonic() < deadline:
            for handle in self.fake.alive():
                self.fake.end(handle)
            if not self.fake.alive() and not self.ctx.store.count_executions(active):
                return
            time.sleep(POLL)


class Make(Protocol):
    """Builds a started Harness."""

    def __call__(
        self,
        behaviour: testing.Behaviour | Callable[[ports.ContainerSpec], testing.Behaviour] = ...,
        *,
        max_running_tasks: int = ...,
    ) -> Harness: ...


@pytest.fixture
def make() -> Iterator[Make]:
    """Return a builder of engines over fresh fakes; every engine is stopped after the test."""
    made: list[Harness] = []

    def build(
        behaviour: testing.Behaviour
        | Callable[[ports.ContainerSpec], testing.Behaviour] = testing.Behaviour(),
        *,
        max_running_tasks: int = 16,
    ) -> Harness:
        store, logs = testing.MemoryStore(), testing.MemoryLogStore()
        fake = testing.FakeScheduler(behaviour)
        engine = dispatcher.Engine(
            store,
            logs,
            fake,
            limits=dispatcher.Limits(max_running_tasks=max_running_tasks, poll_interval=0.05),
            options=executor.Options(
                stop_grace=GRACE, remove_containers=True, instance_id=INSTANCE
            ),
            clock=context.utcnow,
        )
        harness = Harness(context.Context(store=store, logs=logs, wake=engine.wake), engine, fake)
        made.append(harness)
        engine.start()
        return harness

    yield build
    for harness in made:
        harness.close()


HELLO = {
    "id": "hello",
    "tasks": [
        task("fetch"),
        task("test-a", depends_on={"fetch": "success"}),
        task("test-b", depends_on={"fetch": "success"}),
        task("report", depends_on={"test-a": "any", "test-b": "any"}),
    ],
}


def test_the_hello_dag_completes_in_dependency_order(make: Make) -> None:
    h = make(
        testing.by_task(
            {
                "test-a": testing.Behaviour(["a"], duration=0.02),
                "test-b": testing.Behaviour(["b"], duration=0.01),
            }
        )
    )
    run = h.wait(h.start(h.deploy(HELLO)))

    assert (run.status, run.reason) == (runs.Status.SUCCESSFUL, None)
    ex = h.executions(run)
    assert list(ex) == ["fetch", "test-a", "test-b", "report"]
    assert {(e.status, e.exit_code) for e in ex.values()} == {(tasks.Status.SUCCESSFUL, 0)}
    assert all(e.image_digest and e.image_digest.startswith("sha256:") for e in ex.values())
    events = [(e.kind, task_of(e.labels)) for e in h.fake.timeline]
    assert events.index(("exited", "fetch")) < events.index(("started", "test-a"))
    assert events.index(("exited", "fetch")) < events.index(("started", "test-b"))
    assert events.index(("exited", "test-a")) < events.index(("started", "report"))
    assert events.index(("exited", "test-b")) < events.index(("started", "report"))
    assert h.fake.list({}) == []  # every container removed


def test_a_failure_skips_success_dependents_and_runs_any_and_failure_dependents(
    make: Make,
) -> None:
    h = make(testing.by_task({"build": testing.Behaviour(["broken"], exit_code=3)}))
    config = {
        "id": "failing",
        "tasks": [
            task("build"),
            task("deploy", depends_on={"build": "success"}),
            task("cleanup", depends_on={"build": "any"}),
            task("alert", depends_on={"build": "failure"}),
        ],
    }
    run = h.wait(h.start(h.deploy(config)))

    assert run.status is runs.Status.FAILED
    assert run.reason == reasons.Reason(
        reasons.Kind.TASK_FAILED, "task 'build' failed: exited with code 3"
    )
    ex = h.executions(run)
    assert (ex["build"].status, ex["build"].exit_code) == (tasks.Status.FAILED, 3)
    assert ex["build"].reason == reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 3")
    assert ex["deploy"].status is tasks.Status.SKIPPED
    assert ex["deploy"].reason is not None
    assert ex["deploy"].reason.kind is reasons.Kind.DEPENDENCY_NOT_MET
    assert ex["cleanup"].status is tasks.Status.SUCCESSFUL
    assert ex["alert"].status is tasks.Status.SUCCESSFUL
    created = [task_of(spec.labels) for spec in h.fake.created]
    assert (created[0], sorted(created[1:])) == ("build", ["alert", "cleanup"])


def test_a_task_over_its_timeout_fails_with_reason_timeout_and_its_container_stopped(
    make: Make,
) -> None:
    h = make(testing.Behaviour(["start"], duration=testing.FOREVER))
    config = {"id": "slow", "tasks": [task("sleepy", timeout="50ms")]}
    run = h.wait(h.start(h.deploy(config)))

    ex = h.executions(run)["sleepy"]
    assert (ex.status, ex.exit_code) == (tasks.Status.FAILED, testing.SIGTERM_EXIT)
    assert ex.reason == reasons.Reason(reasons.Kind.TIMEOUT, "exceeded its timeout of 50ms")
    assert run.status is runs.Status.FAILED
    assert run.reason is not None and run.reason.kind is reasons.Kind.TASK_FAILED
    assert "'sleepy'" in run.reason.description
    [handle] = h.handles(run, "sleepy")
    assert testing.Call("stop", handle, grace=GRACE) in h.fake.calls
    assert h.fake.signals == [(handle, "TERM")]
    assert [line.text for line in h.log(ex).lines] == ["start"]


def test_the_run_timeout_cancels_running_and_waiting_tasks_and_fails_the_run(
    make: Make,
) -> None:
    h = make(testing.by_task({"hold": FOREVER}))
    config = {
        "id": "bounded",
        "timeout": "100ms",
        "tasks": [task("hold"), task("after", depends_on={"hold": "any"})],
    }
    run = h.wait(h.start(h.deploy(config)))

    timeout = reasons.Reason(reasons.Kind.RUN_TIMEOUT, "the run exceeded its timeout of 0.1s")
    assert (run.status, run.reason) == (runs.Status.FAILED, timeout)
    ex = h.executions(run)
    assert (ex["hold"].status, ex["hold"].reason) == (tasks.Status.CANCELLED, timeout)
    assert (ex["after"].status, ex["after"].reason) == (tasks.Status.CANCELLED, timeout)
    [handle] = h.handles(run, "hold")
    assert h.fake.signals == [(handle, "TERM")]
    assert h.handles(run, "after") == []


def test_cancel_while_pending_cancels_the_run_before_any_container(make: Make) -> None:
    h = make(FOREVER)
    pipeline = h.deploy({"id": "serial", "parallelism": 1, "tasks": [task("work")]})
    first = h.start(pipeline)
    first_container = h.running(first, "work")
    second = h.start(pipeline)
    h.until_waiting_for_its_turn(second)

    changed = run_service.cancel(h.ctx, "default", pipeline, second.id)
    second = h.wait(second)

    assert changed.changed and changed.run.cancel_requested
    cancelled = reasons.Reason(reasons.Kind.CANCELLED, "cancelled on request")
    assert (second.status, second.reason, second.started) == (
        runs.Status.CANCELLED,
        cancelled,
        None,
    )
    assert h.executions(second)["work"].status is tasks.Status.CANCELLED
    assert h.handles(second, "work") == []
    h.fake.end(first_container)
    assert h.wait(first).status is runs.Status.SUCCESSFUL


def test_cancel_while_a_task_waits_cancels_it_and_stops_the_running_one(make: Make) -> None:
    h = make(testing.by_task({"first": FOREVER}))
    config = {"id": "pair", "tasks": [task("first"), task("second", depends_on={"first": "any"})]}
    run = h.start(h.deploy(config))
    handle = h.running(run, "first")
    assert h.executions(run)["second"].state is tasks.State.WAITING

    run_service.cancel(h.ctx, "default", "pair", run.id)
    run = h.wait(run)

    cancelled = reasons.Reason(reasons.Kind.CANCELLED, "cancelled on request")
    assert (run.status, run.reason) == (runs.Status.CANCELLED, cancelled)
    ex = h.executions(run)
    assert (ex["first"].status, ex["first"].reason) == (tasks.Status.CANCELLED, cancelled)
    assert ex["first"].exit_code == testing.SIGTERM_EXIT
    assert (ex["second"].status, ex["second"].reason) == (tasks.Status.CANCELLED, cancelled)
    assert h.handles(run, "second") == []
    assert h.fake.signals == [(handle, "TERM")]


def test_cancel_while_running_kills_a_container_that_ignores_sigterm_after_the_grace(
    make: Make,
) -> None:
    h = make(testing.Behaviour(["holding"], duration=testing.FOREVER, ignores_term=True))
    run = h.start(h.deploy({"id": "stubborn", "tasks": [task("hold")]}))
    handle = h.running(run, "hold")

    run_service.cancel(h.ctx, "default", "stubborn", run.id)
    run = h.wait(run)

    assert run.status is runs.Status.CANCELLED
    ex = h.executions(run)["hold"]
    assert (ex.status, ex.exit_code) == (tasks.Status.CANCELLED, testing.SIGKILL_EXIT)
    assert testing.Call("stop", handle, grace=GRACE) in h.fake.calls
    assert h.fake.signals == [(handle, "TERM"), (handle, "KILL")]
    chunk = h.log(ex)
    assert ([line.text for line in chunk.lines], chunk.ended) == (["holding"], True)
    assert h.fake.list({}) == []


def test_parallelism_one_runs_three_runs_one_after_the_other(make: Make) -> None:
    h = make(FOREVER)
    config = {
        "id": "serial",
        "parallelism": 1,
        "tasks": [task("one"), task("two", depends_on={"one": "success"})],
    }
    pipeline = h.deploy(config)
    started = [h.start(pipeline) for _ in range(3)]

    for index, run in enumerate(started):
        for task_id in ["one", "two"]:
            handle = h.running(run, task_id)
            for later in started[index + 1 :]:
                h.until_waiting_for_its_turn(later)
            h.fake.end(handle)
        assert h.wait(run).status is runs.Status.SUCCESSFUL

    assert h.fake.most_alive_at_once(run_of) == 1
    assert [run_of(e.labels) for e in h.fake.timeline if e.kind == "started"] == [
        "1",
        "1",
        "2",
        "2",
        "3",
        "3",
    ]


def test_the_global_limit_keeps_two_containers_alive_at_most_and_all_tasks_complete(
    make: Make,
) -> None:
    h = make(FOREVER, max_running_tasks=2)
    config = {"id": "wide", "tasks": [task(f"t{n}") for n in range(5)]}
    run = h.start(h.deploy(config))

    def queued() -> int:
        return sum(e.state is tasks.State.QUEUED for e in h.executions(run).values())

    until(lambda: len(h.fake.alive()) == 2 and queued() == 3, "two run and three queue")
    assert len(h.fake.created) == 2
    run = h.end_all(run)

    assert run.status is runs.Status.SUCCESSFUL
    assert {e.status for e in h.executions(run).values()} == {tasks.Status.SUCCESSFUL}
    assert len(h.fake.created) == 5
    assert h.fake.max_alive == 2


@pytest.mark.parametrize(
    ("behaviour", "what"),
    [
        (testing.Behaviour([], fail_create=errors.Unavailable("engine down")), "create"),
        (testing.Behaviour([], fail_start=errors.Unavailable("engine down")), "start"),
    ],
    ids=["create", "start"],
)
def test_a_scheduler_error_fails_the_task_with_reason_scheduler_error_leaving_no_container(
    make: Make, behaviour: testing.Behaviour, what: str
) -> None:
    h = make(behaviour)
    run = h.wait(h.start(h.deploy({"id": "broken", "tasks": [task("only")]})))

    ex = h.executions(run)["only"]
    assert ex.status is tasks.Status.FAILED
    assert ex.reason == reasons.Reason(
        reasons.Kind.SCHEDULER_ERROR, f"could not {what} the container: engine down"
    )
    assert run.status is runs.Status.FAILED
    assert run.reason is not None and run.reason.kind is reasons.Kind.TASK_FAILED
    assert len(h.fake.created) == 1
    assert h.fake.list({}) == []
    assert h.log(ex) == ports.LogChunk([], 0, True)


def test_logs_are_stored_with_the_end_marker_and_equal_the_behaviours_lines(
    make: Make,
) -> None:
    lines = ["one", "", "  three ", "ünïcode"]
    h = make(testing.Behaviour(lines, duration=0.01))
    run = h.wait(h.start(h.deploy({"id": "talk", "tasks": [task("say")]})))

    chunk = h.log(h.executions(run)["say"])
    assert [line.text for line in chunk.lines] == lines
    assert (chunk.next_offset, chunk.ended) == (len(lines), True)


def test_variables_reach_the_container_built_ins_then_task_env_then_run_variables(
    make: Make,
) -> None:
    h = make()
    env = {"LEVEL": "task", "MODE": "task", "HOSTLER_TASK": "from-task"}
    config = {"id": "vars", "tasks": [task("show", env=env, command=["sh", "-c", "env"])]}
    h.wait(h.start(h.deploy(config), MODE="run", HOSTLER_RUN="from-run"))

    [spec] = h.fake.created
    assert dict(spec.env) == {
        "HOSTLER_NAMESPACE": "default",
        "HOSTLER_PIPELINE": "vars",
        "HOSTLER_RUN": "from-run",
        "HOSTLER_TASK": "from-task",
        "HOSTLER_ATTEMPT": "1",
        "LEVEL": "task",
        "MODE": "run",
        "HOSTLER_OBJECTS": "/hostler/objects",
    }
    assert (spec.image, spec.command) == ("busybox", ("sh", "-c", "env"))


def test_container_labels_carry_installation_namespace_pipeline_run_task_and_attempt(
    make: Make,
) -> None:
    h = make()
    pipeline = h.deploy({"id": "labelled", "tasks": [task("only")]})
    h.wait(h.start(pipeline))
    h.wait(h.start(pipeline))

    assert [dict(spec.labels) for spec in h.fake.created] == [
        {
            P + "installation": "hostler",
            P + "namespace": "default",
            P + "pipeline": "labelled",
            P + "run": str(run_id),
            P + "task": "only",
            P + "attempt": "1",
            P + "instance": INSTANCE,
        }
        for run_id in (1, 2)
    ]
    assert len({spec.name for spec in h.fake.created}) == 2
