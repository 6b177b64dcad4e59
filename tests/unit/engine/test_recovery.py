"""Recovery: what a fresh engine makes of the task executions and containers a dead one left.

Each test builds what the dead engine left behind (a ``World``): a run started through
``hostler.services`` and set running, task executions written STARTING or RUNNING under the dead
engine's lease, their containers made in the ``FakeScheduler`` with the labels the dead engine
would have given them, and part of their log already stored. Then a fresh engine starts over it and
the tests assert what it did: adoption by lease, re-attachment with the log copied on exactly once,
exit codes recorded, lost and never-started tasks, the clean-up of containers of no task
execution, lease renewal, two engines racing for one execution, a task claimed again before the
thread that released it has returned, and containers that end or vanish behind the engine's back.
Assertions are on states, reasons, logs and containers, never on timings.
"""

from __future__ import annotations

import datetime
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from hostler import testing
from hostler.core import errors, ports, reasons, runs, tasks
from hostler.engine import dispatcher, executor
from hostler.services import context, pipelines
from hostler.services import runs as run_service

from .test_dispatcher import GRACE, HANG, P, task, until

INSTALLATION = "test"
DEAD = "dead-engine"
NEW = "new-engine"
LEASE = 3.0
EXPIRED = datetime.timedelta(minutes=-1)
"""When the dead engine's lease ends, from now: it has expired."""
HELD = datetime.timedelta(hours=1)
"""When a live engine's lease ends, from now: far off."""
LINES = [f"line {n}" for n in range(1, 7)]
TALKING = testing.Behaviour(LINES, duration=testing.FOREVER)
"""A container that prints LINES at once, then runs until the test ends it."""
FRESH = testing.Behaviour(["fresh"])
"""What the containers the new engine makes do: print one line and exit 0."""
TO_STARTING = (tasks.Event.QUEUE, tasks.Event.CLAIM)
TO_RUNNING = (*TO_STARTING, tasks.Event.RUN)
ONE = {"id": "single", "tasks": [task("work")]}


def options(instance: str, installation: str = INSTALLATION, **extra: Any) -> executor.Options:
    """Return the executor options of engine ``instance`` (its ``extra`` fields changed)."""
    fields: dict[str, Any] = {
        "stop_grace": GRACE,
        "remove_containers": True,
        "lease": LEASE,
        "installation": installation,
        **extra,
    }
    return executor.Options(instance_id=instance, **fields)


class World:
    """A store, a log store and a scheduler as a dead engine left them; engines start over them.

    Containers planted by the test follow the behaviour given to ``plant``; those the engines make
    follow ``default``.
    """

    def __init__(self, store: testing.MemoryStore) -> None:
        self.store = store
        self.logs = testing.MemoryLogStore()
        self.fake = testing.FakeScheduler(self._choose)
        self.ctx = context.Context(store=self.store, logs=self.logs)
        self.default = FRESH
        self.engines: list[dispatcher.Engine] = []
        self._planted: dict[str, testing.Behaviour] = {}
        self._names = itertools.count(1)
        self._mark = 0

    def _choose(self, spec: ports.ContainerSpec) -> testing.Behaviour:
        return self._planted.get(spec.name, self.default)

    # -- what the dead engine left -----------------------------------------------------------

    def deploy(self, config: dict[str, Any]) -> str:
        """Register ``config`` in ``default`` and make it live; return the pipeline id."""
        pipelines.up(self.ctx, "default", config)
        return str(config["id"])

    def start(self, pipeline: str) -> runs.Run:
        """Start a run of ``pipeline``; it is pending, for an engine to start."""
        return run_service.start(self.ctx, "default", pipeline)

    def left_run(self, pipeline: str) -> runs.Run:
        """Start a run of ``pipeline`` and set it running, as the dead engine did."""
        run = self.start(pipeline)
        state, status = runs.MACHINE.apply(run.state, runs.Event.START)
        return self.store.update_run(
            run.evolve(state=state, status=status, started=context.utcnow()), run.revision
        )

    def labels(
        self, execution: tasks.Execution, installation: str = INSTALLATION
    ) -> dict[str, str]:
        """Return the labels the dead engine gave the containers of ``execution``."""
        return executor.labels(execution, options(DEAD, installation))

    def plant(
        self, labels: Mapping[str, str], behaviour: testing.Behaviour, *, start: bool = True
    ) -> str:
        """Create a container with ``labels`` that follows ``behaviour``, started unless told."""
        spec = ports.ContainerSpec(
            name=f"left-{next(self._names)}",
            image="busybox",
            command=None,
            env={},
            labels=dict(labels),
        )
        self._planted[spec.name] = behaviour
        handle = self.fake.create(spec)
        if start:
            self.fake.start(handle)
        return handle

    def leave(
        self,
        execution: tasks.Execution,
        *events: tasks.Event,
        expires: datetime.timedelta = EXPIRED,
        **changes: Any,
    ) -> tasks.Execution:
        """Write ``execution`` moved by ``events``, under the dead engine's lease unless changed."""
        state, status = execution.state, execution.status
        for event in events:
            state, status = tasks.MACHINE.apply(state, event)
        now = context.utcnow()
        fields = {"queued": now, "lease_owner": DEAD, "lease_expires": now + expires, **changes}
        return self.store.update_execution(
            execution.evolve(state=state, status=status, **fields), execution.revision
        )

    def left_running(
        self,
        run: runs.Run,
        task_id: str,
        behaviour: testing.Behaviour = TALKING,
        **changes: Any,
    ) -> tuple[str, tasks.Execution]:
        """Plant a running container for ``task_id`` and record the task RUNNING in it."""
        execution = self.execution(run, task_id)
        handle = self.plant(self.labels(execution), behaviour)
        status = self.fake.inspect(handle)
        running = self.leave(
            execution,
            *TO_RUNNING,
            container=handle,
            image_digest=status.image_digest,
            started=status.started,
            **changes,
        )
        return handle, running

    def store_log(self, execution: tasks.Execution, handle: str, count: int) -> list[ports.LogLine]:
        """Store the first ``count`` lines of the container's output; return all of it."""
        output = list(self.fake.logs(handle))
        self.logs.append(execution.log_key, output[:count])
        return output

    # -- the engines -------------------------------------------------------------------------

    def engine(self, instance: str = NEW, **extra: Any) -> dispatcher.Engine:
        """Start an engine ``instance`` over this world (its options' ``extra`` fields changed)."""
        engine = dispatcher.Engine(
            self.store,
            self.logs,
            self.fake,
            limits=dispatcher.Limits(poll_interval=0.05),
            options=options(instance, **extra),
            clock=context.utcnow,
        )
        if not self.engines:
            self._mark = len(self.fake.calls)
        self.engines.append(engine)
        engine.start()
        return engine

    def until_recovered(self, engines: int = 1) -> None:
        """Return once ``engines`` engines have listed the containers to clean up at start-up.

        That listing ends ``recover``, after the start-up adoptions; other listings come only from
        looking for the container of an execution without one recorded.
        """
        until(
            lambda: [c.method for c in self.fake.calls[self._mark :]].count("list") >= engines,
            f"{engines} engine(s) recovered",
        )

    def calls_on(self, handle: str) -> list[str]:
        """Return the methods called on container ``handle`` since the first engine started."""
        return [c.method for c in self.fake.calls[self._mark :] if c.handle == handle]

    def close(self) -> None:
        """Stop every engine and let every task thread finish."""
        for engine in self.engines:
            engine.stop()
        active = [tasks.State.STARTING, tasks.State.RUNNING]
        until(
            lambda: self._end_all() and not self.store.count_executions(active),
            "every task thread finished",
        )

    def _end_all(self) -> bool:
        for handle in self.fake.alive():
            self.fake.end(handle)
        return not self.fake.alive()

    # -- reading -----------------------------------------------------------------------------

    def get(self, run: runs.Run) -> runs.Run:
        """Return ``run`` as stored now."""
        return self.store.get_run(run.namespace, run.pipeline, run.id)

    def wait(self, run: runs.Run) -> runs.Run:
        """Return ``run`` once it is complete."""
        until(lambda: self.get(run).state is runs.State.COMPLETE, f"run {run.ref} completes")
        return self.get(run)

    def execution(self, run: runs.Run, task_id: str) -> tasks.Execution:
        """Return the (first) execution of ``task_id`` in ``run`` as stored now."""
        return self.store.get_execution(run.namespace, run.pipeline, run.id, task_id, 1)

    def until_owned(self, execution: tasks.Execution, owner: str) -> tasks.Execution:
        """Return ``execution`` once ``owner`` holds its lease."""
        key = (execution.namespace, execution.pipeline, execution.run, execution.task, 1)
        until(lambda: self.store.get_execution(*key).lease_owner == owner, f"{owner} adopts")
        return self.store.get_execution(*key)

    def log(self, execution: tasks.Execution) -> ports.LogChunk:
        """Return the whole stored log of ``execution``."""
        return self.logs.read(execution.log_key)

    def created_for(self, task_id: str) -> list[str]:
        """Return the handles of every container ever made for ``task_id``."""
        return self.fake.handles({P + "task": task_id})

    def running(self, run: runs.Run, task_id: str) -> str:
        """Return the handle of the container an engine made for ``task_id``, once it runs."""

        def alive() -> list[str]:
            return [h for h in self.created_for(task_id) if h in self.fake.alive()]

        until(lambda: bool(alive()), f"task '{task_id}' of {run.ref} runs")
        [handle] = alive()
        return handle


@pytest.fixture
def make_world() -> Iterator[Callable[[testing.MemoryStore], World]]:
    """Return a builder of worlds over a given store; their engines are stopped afterwards."""
    made: list[World] = []

    def build(store: testing.MemoryStore) -> World:
        made.append(World(store))
        return made[-1]

    yield build
    for world in made:
        world.close()


@pytest.fixture
def world(make_world: Callable[[testing.MemoryStore], World]) -> World:
    """Return a world over an empty store."""
    return make_world(testing.MemoryStore())


def ended(lines: list[ports.LogLine]) -> ports.LogChunk:
    """Return the whole stored log holding ``lines`` once each, ended."""
    return ports.LogChunk(lines, len(lines), ended=True)


# -- adoption of what the dead engine ran -----------------------------------------------------


def test_a_running_task_is_re_attached_and_its_log_copied_on_from_where_the_store_ends(
    world: World,
) -> None:
    run = world.left_run(world.deploy(ONE))
    handle, execution = world.left_running(run, "work")
    output = world.store_log(execution, handle, 3)
    # The fake gives every line the time of the start: the copy must skip by count, not by time.
    assert len({line.time for line in output}) == 1

    world.engine()
    world.until_owned(execution, NEW)
    world.fake.end(handle)
    run = world.wait(run)

    done = world.execution(run, "work")
    assert (run.status, done.status, done.exit_code) == (
        runs.Status.SUCCESSFUL,
        tasks.Status.SUCCESSFUL,
        0,
    )
    assert (done.lease_owner, done.container) == (NEW, handle)
    assert world.log(done) == ended(output)
    assert world.created_for("work") == [handle]
    assert world.fake.list({}) == []


def test_a_running_task_whose_container_exited_unwatched_records_its_exit_code(
    world: World,
) -> None:
    run = world.left_run(world.deploy(ONE))
    handle, execution = world.left_running(
        run, "work", testing.Behaviour(LINES, exit_code=3, duration=testing.FOREVER)
    )
    output = world.store_log(execution, handle, 2)
    world.fake.end(handle)  # exits 3, with no engine watching

    world.engine()
    run = world.wait(run)

    done = world.execution(run, "work")
    assert (done.status, done.exit_code) == (tasks.Status.FAILED, 3)
    assert done.reason == reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 3")
    assert world.log(done) == ended(output)
    assert run.status is runs.Status.FAILED
    assert run.reason == reasons.Reason(
        reasons.Kind.TASK_FAILED, "task 'work' failed: exited with code 3"
    )
    assert world.created_for("work") == [handle]


def test_a_running_task_whose_container_is_gone_is_lost_and_fails_the_run(world: World) -> None:
    config = {
        "id": "chain",
        "tasks": [
            task("build"),
            task("deploy", depends_on={"build": "success"}),
            task("alert", depends_on={"build": "failure"}),
        ],
    }
    run = world.left_run(world.deploy(config))
    handle, execution = world.left_running(run, "build")
    output = world.store_log(execution, handle, 2)
    world.fake.remove(handle)

    world.engine()
    run = world.wait(run)

    vanished = "the container vanished while no engine was watching it"
    build = world.execution(run, "build")
    assert (build.status, build.reason) == (
        tasks.Status.LOST,
        reasons.Reason(reasons.Kind.LOST, vanished),
    )
    assert world.log(build) == ended(output[:2])
    deploy = world.execution(run, "deploy")
    assert deploy.status is tasks.Status.SKIPPED
    assert deploy.reason is not None
    assert deploy.reason.kind is reasons.Kind.DEPENDENCY_NOT_MET
    assert world.execution(run, "alert").status is tasks.Status.SUCCESSFUL
    assert (run.status, run.reason) == (
        runs.Status.FAILED,
        reasons.Reason(reasons.Kind.TASK_FAILED, f"task 'build' lost: {vanished}"),
    )
    assert world.created_for("build") == [handle]
    assert world.created_for("deploy") == []


def test_a_starting_task_without_a_container_is_queued_again_and_runs_once(world: World) -> None:
    run = world.left_run(world.deploy(ONE))
    world.leave(world.execution(run, "work"), *TO_STARTING)

    world.engine()
    run = world.wait(run)

    done = world.execution(run, "work")
    assert (run.status, done.status, done.lease_owner) == (
        runs.Status.SUCCESSFUL,
        tasks.Status.SUCCESSFUL,
        NEW,
    )
    [handle] = world.created_for("work")
    assert done.container == handle
    assert [line.text for line in world.log(done).lines] == ["fresh"]


def test_a_starting_task_whose_container_never_started_gets_a_new_one(world: World) -> None:
    run = world.left_run(world.deploy(ONE))
    execution = world.execution(run, "work")
    leftover = world.plant(world.labels(execution), TALKING, start=False)
    world.leave(execution, *TO_STARTING)

    world.engine()
    run = world.wait(run)

    done = world.execution(run, "work")
    assert (run.status, done.status) == (runs.Status.SUCCESSFUL, tasks.Status.SUCCESSFUL)
    [first, second] = world.created_for("work")
    assert (first, done.container) == (leftover, second)
    assert "start" not in world.calls_on(leftover)
    assert "remove" in world.calls_on(leftover)
    assert [e.handle for e in world.fake.timeline if e.kind == "started"] == [second]
    assert [line.text for line in world.log(done).lines] == ["fresh"]
    assert world.fake.list({}) == []


def test_a_starting_task_whose_container_runs_is_recorded_running_and_re_attached(
    world: World,
) -> None:
    run = world.left_run(world.deploy(ONE))
    execution = world.execution(run, "work")
    handle = world.plant(world.labels(execution), TALKING)
    started = world.fake.inspect(handle).started
    world.leave(execution, *TO_STARTING)  # the dead engine started it, then died

    world.engine()
    until(lambda: world.execution(run, "work").container == handle, "recorded in its container")
    running = world.execution(run, "work")
    world.fake.end(handle)
    run = world.wait(run)

    assert (running.state, running.lease_owner) == (tasks.State.RUNNING, NEW)
    assert running.started == started
    done = world.execution(run, "work")
    assert (done.status, done.container) == (tasks.Status.SUCCESSFUL, handle)
    assert [line.text for line in world.log(done).lines] == LINES
    assert world.created_for("work") == [handle]


# -- leases -----------------------------------------------------------------------------------


def test_a_live_engines_lease_is_respected_until_it_expires(world: World) -> None:
    run = world.left_run(world.deploy(ONE))
    handle, execution = world.left_running(run, "work", lease_owner="live-engine", expires=HELD)
    # A long lease: this engine tends its leases at start-up only, and then when called below.
    engine = world.engine(lease=60.0)
    world.until_recovered()
    engine.tend_leases()
    engine.tend_leases()

    assert world.execution(run, "work") == execution
    assert world.calls_on(handle) == []
    assert handle in world.fake.alive()

    world.store.update_execution(
        execution.evolve(lease_expires=context.utcnow() + EXPIRED), execution.revision
    )
    engine.tend_leases()
    assert world.execution(run, "work").lease_owner == NEW

    world.fake.end(handle)
    run = world.wait(run)
    done = world.execution(run, "work")
    assert (done.status, done.lease_owner) == (tasks.Status.SUCCESSFUL, NEW)
    assert [line.text for line in world.log(done).lines] == LINES


def test_a_lease_held_in_the_engines_own_name_is_adopted_at_start_up(world: World) -> None:
    run = world.left_run(world.deploy(ONE))
    handle, execution = world.left_running(run, "work", lease_owner=NEW, expires=HELD)

    world.engine()
    world.until_recovered()
    # Taken over with compare-and-set during start-up, long before its lease would expire.
    assert world.execution(run, "work").revision > execution.revision

    world.fake.end(handle)
    run = world.wait(run)
    done = world.execution(run, "work")
    assert (run.status, done.status, done.lease_owner) == (
        runs.Status.SUCCESSFUL,
        tasks.Status.SUCCESSFUL,
        NEW,
    )
    assert [line.text for line in world.log(done).lines] == LINES


def test_tending_leases_moves_a_running_tasks_lease_forward_without_a_new_revision(
    world: World,
) -> None:
    world.default = TALKING
    run = world.start(world.deploy(ONE))
    engine = world.engine()
    world.running(run, "work")
    until(lambda: world.execution(run, "work").state is tasks.State.RUNNING, "recorded running")
    before = world.execution(run, "work")

    engine.tend_leases()

    after = world.execution(run, "work")
    assert before.lease_expires is not None and after.lease_expires is not None
    assert after.lease_expires > before.lease_expires
    assert (after.revision, after.lease_owner) == (before.revision, NEW)


class Lockstep(testing.MemoryStore):
    """A store whose first two listings of active executions wait for each other.

    Two engines starting together both see the expired lease before either takes it over, so
    that both try to: compare-and-set must let exactly one through.
    """

    def __init__(self) -> None:
        super().__init__()
        self._barrier = threading.Barrier(2, timeout=HANG)
        self._listings = itertools.count()

    def list_active_executions(self, limit: int) -> list[tasks.Execution]:
        found = super().list_active_executions(limit)
        if next(self._listings) < 2:
            self._barrier.wait()
        return found


def test_of_two_engines_starting_together_exactly_one_adopts_a_running_task(
    make_world: Callable[[testing.MemoryStore], World],
) -> None:
    world = make_world(Lockstep())
    run = world.left_run(world.deploy(ONE))
    handle, execution = world.left_running(run, "work")
    output = world.store_log(execution, handle, 3)

    world.engine("engine-a")
    world.engine("engine-b")
    world.until_recovered(engines=2)
    owner = world.execution(run, "work").lease_owner
    world.fake.end(handle)
    run = world.wait(run)

    assert owner in {"engine-a", "engine-b"}
    done = world.execution(run, "work")
    assert (done.status, done.lease_owner) == (tasks.Status.SUCCESSFUL, owner)
    assert world.log(done) == ended(output)  # one copy: no line twice
    # One resume: the container was looked up once and its log followed once.
    calls = world.calls_on(handle)
    assert (calls.count("inspect"), calls.count("logs")) == (1, 1)


class HoldRelease(testing.MemoryStore):
    """A store that holds back whoever queues a starting execution again, just after the write.

    The engine meanwhile claims and runs the execution again, before the thread that released it
    has returned: the unlikely order the engine must survive.
    """

    def __init__(self) -> None:
        super().__init__()
        self._open = threading.Event()

    def update_execution(
        self, execution: tasks.Execution, expected_revision: int
    ) -> tasks.Execution:
        before = self.get_execution(
            execution.namespace,
            execution.pipeline,
            execution.run,
            execution.task,
            execution.attempt,
        )
        written = super().update_execution(execution, expected_revision)
        if (before.state, written.state) == (tasks.State.STARTING, tasks.State.QUEUED):
            self._open.wait(HANG)
        return written

    def open(self) -> None:
        """Let the held thread go on."""
        self._open.set()


def test_a_task_claimed_again_before_the_thread_that_released_it_returns_stays_watched(
    make_world: Callable[[testing.MemoryStore], World],
) -> None:
    store = HoldRelease()
    world = make_world(store)
    world.default = TALKING
    run = world.left_run(world.deploy(ONE))
    world.leave(world.execution(run, "work"), *TO_STARTING)
    # A long lease: this engine tends its leases at start-up only, and then when called below.
    engine = world.engine(lease=60.0)
    handle = world.running(run, "work")
    until(lambda: world.execution(run, "work").state is tasks.State.RUNNING, "running again")
    store.open()
    time.sleep(0.2)  # bounded: the released thread returns meanwhile
    before = world.execution(run, "work")

    engine.tend_leases()

    assert world.execution(run, "work").revision == before.revision  # not adopted again
    world.fake.end(handle)
    done = world.execution(world.wait(run), "work")
    assert done.status is tasks.Status.SUCCESSFUL
    assert [line.text for line in world.log(done).lines] == LINES
    assert world.calls_on(handle).count("logs") == 1


# -- start-up clean-up ------------------------------------------------------------------------


@pytest.mark.parametrize("remove_orphans", [True, False], ids=["remove-orphans", "keep-orphans"])
def test_start_up_removes_containers_of_no_or_a_complete_task_execution_of_its_installation(
    world: World, remove_orphans: bool
) -> None:
    run = world.left_run(world.deploy(ONE))
    execution = world.execution(run, "work")
    orphan = world.plant(world.labels(execution.evolve(run=99)), TALKING)
    unnamed = world.plant({P + "installation": INSTALLATION}, TALKING)
    foreign = world.plant(world.labels(execution, installation="other"), TALKING)
    # The dead engine recorded the outcome, then died before removing the container.
    leftover = world.plant(world.labels(execution), testing.Behaviour(LINES))
    world.leave(execution, *TO_RUNNING, tasks.Event.SUCCEED, container=leftover, exit_code=0)

    world.engine(remove_orphans=remove_orphans)
    # Containers are cleaned up oldest first: once the leftover is gone, the orphans are settled.
    until(lambda: "remove" in world.calls_on(leftover), "the leftover container removed")

    remaining = {status.handle for status in world.fake.list({})}
    orphans = {orphan, unnamed}
    assert remaining == {foreign} | (set() if remove_orphans else orphans)
    assert world.calls_on(foreign) == []
    assert world.wait(run).status is runs.Status.SUCCESSFUL


def test_start_up_keeps_the_recorded_container_of_a_complete_task_when_told_to_keep_them(
    world: World,
) -> None:
    run = world.left_run(world.deploy(ONE))
    execution = world.execution(run, "work")
    kept = world.plant(world.labels(execution), testing.Behaviour(LINES))
    extra = world.plant(world.labels(execution), testing.Behaviour(LINES))
    world.leave(execution, *TO_RUNNING, tasks.Event.SUCCEED, container=kept, exit_code=0)

    world.engine(remove_containers=False)
    until(lambda: "remove" in world.calls_on(extra), "the extra container removed")

    assert [status.handle for status in world.fake.list({})] == [kept]
    assert world.calls_on(kept) == []


# -- out of band ------------------------------------------------------------------------------


def test_a_container_killed_by_someone_else_fails_its_task_naming_the_signal(
    world: World,
) -> None:
    world.default = TALKING
    run = world.start(world.deploy(ONE))
    world.engine()
    handle = world.running(run, "work")

    world.fake.end(handle, testing.SIGKILL_EXIT)
    run = world.wait(run)

    done = world.execution(run, "work")
    assert (done.status, done.exit_code) == (tasks.Status.FAILED, testing.SIGKILL_EXIT)
    assert done.reason == reasons.Reason(
        reasons.Kind.EXIT_CODE, "exited with code 137 (SIGKILL, not sent by Hostler)"
    )
    assert world.fake.signals == []
    assert run.status is runs.Status.FAILED
    assert [line.text for line in world.log(done).lines] == LINES


def test_a_container_removed_behind_the_engines_back_loses_its_task(world: World) -> None:
    world.default = TALKING
    run = world.start(world.deploy(ONE))
    world.engine()
    handle = world.running(run, "work")
    execution = world.execution(run, "work")

    def copied() -> bool:
        try:
            return len(world.log(execution).lines) == len(LINES)
        except errors.NotFound:  # nothing stored yet
            return False

    until(copied, "the log copied")
    world.fake.remove(handle)
    run = world.wait(run)

    done = world.execution(run, "work")
    assert (done.status, done.reason) == (
        tasks.Status.LOST,
        reasons.Reason(reasons.Kind.LOST, "the container was removed while it ran, not by Hostler"),
    )
    assert (run.status, run.reason is not None and run.reason.kind) == (
        runs.Status.FAILED,
        reasons.Kind.TASK_FAILED,
    )
    chunk = world.log(done)
    assert ([line.text for line in chunk.lines], chunk.ended) == (LINES, True)
