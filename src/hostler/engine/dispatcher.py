"""The engine's loop: start pending runs within limits, queue and skip tasks by the DAG, claim
queued tasks under the global limit, and finish runs.

One pass reads the active runs from the store, decides with ``engine.decisions`` and writes each
change with compare-and-set; a pass runs when something wakes the engine (a run started, a task
ended, a cancel asked) or every ``poll_interval`` seconds. The store is the source of truth: nothing
kept in memory here is needed to pick the work up again.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable

from hostler.core import errors, pipelines, ports, reasons, runs, tasks
from hostler.engine import decisions, executor

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(seconds=60)
RunKey = tuple[str, str, int]
COALESCE = 0.01
"""Seconds a pass waits after a wake-up so that several wake-ups make one pass."""
CANCELLED = reasons.Reason(reasons.Kind.CANCELLED, "cancelled on request")


@dataclasses.dataclass(frozen=True)
class Limits:
    """The engine's limits and timings; taken from the settings."""

    max_running_tasks: int = 16
    poll_interval: float = 1.0


class Engine:
    """Shepherds every run to completion on one scheduler."""

    def __init__(
        self,
        store: ports.Store,
        logs: ports.LogStore,
        scheduler: ports.Scheduler,
        *,
        limits: Limits,
        options: executor.Options,
        clock: Callable[[], datetime.datetime],
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._limits = limits
        self._options = options
        self._clock = clock
        self._executor = executor.Executor(store, logs, scheduler, options, clock)
        self._global_limit = reasons.Reason(
            reasons.Kind.GLOBAL_LIMIT,
            f"{limits.max_running_tasks} tasks are starting or running already "
            "(engine.max_running_tasks)",
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=limits.max_running_tasks, thread_name_prefix="task"
        )
        self._stops: dict[tuple[str, str, int, str, int], executor.Stop] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the engine's loop in a background thread."""
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a pass soon: there is new work."""
        self._wakeup.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait up to ``timeout`` seconds for it; running tasks are left alone."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if self._wakeup.wait(self._limits.poll_interval):
                # Let the wake-ups of tasks ending together land in one pass.
                time.sleep(COALESCE)
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            try:
                self.pass_once()
            except errors.Unavailable:
                log.warning("store unavailable, will retry", exc_info=True)
            except Exception:
                log.exception("engine pass failed")

    # -- one pass ----------------------------------------------------------------------------

    def pass_once(self) -> None:
        """Look at every active run once and move what can move."""
        active = self._store.list_active_runs(limit=10_000)
        running_per_pipeline = collections.Counter(
            (r.namespace, r.pipeline) for r in active if r.state is runs.State.RUNNING
        )
        candidates: list[tasks.Execution] = []
        for run in active:
            try:
                if run.state is runs.State.PENDING:
                    candidates += self._consider_pending(run, running_per_pipeline)
                else:
                    candidates += self._advance(run)
            except errors.Conflict:
                self.wake()  # someone else moved it; look again soon
        with self._lock:
            busy = len(self._stops)
        self._claim(candidates, busy, {(r.namespace, r.pipeline, r.id): r for r in active})

    def _config(self, namespace: str, pipeline: str, version: int) -> pipelines.Config:
        return self._version(namespace, pipeline, version).config

    @functools.lru_cache(maxsize=256)  # noqa: B019 - versions are immutable; one engine per process
    def _version(self, namespace: str, pipeline: str, version: int) -> pipelines.Version:
        return self._store.get_version(namespace, pipeline, version)

    def _consider_pending(
        self, run: runs.Run, running: collections.Counter[tuple[str, str]]
    ) -> list[tasks.Execution]:
        """Start a pending run if its pipeline's parallelism allows; then as ``_advance``."""
        if run.cancel_requested:
            self._cancel_waiting(run, CANCELLED)
            self._finish(run, runs.Event.CANCEL, CANCELLED)
            return []
        config = self._config(run.namespace, run.pipeline, run.version)
        key = (run.namespace, run.pipeline)
        if config.parallelism and running[key] >= config.parallelism:
            if run.reason is None or run.reason.kind is not reasons.Kind.PARALLELISM_LIMIT:
                reason = reasons.Reason(
                    reasons.Kind.PARALLELISM_LIMIT,
                    f"pipeline at parallelism limit ({config.parallelism} running)",
                )
                self._store.update_run(run.evolve(reason=reason), run.revision)
            return []
        state, status = runs.MACHINE.apply(run.state, runs.Event.START)
        started = run.evolve(state=state, status=status, reason=None, started=self._clock())
        started = self._store.update_run(started, run.revision)
        running[key] += 1
        return self._advance(started)

    def _advance(self, run: runs.Run) -> list[tasks.Execution]:
        """Move a running run's tasks along; return its tasks to queue or claim.

        Tasks whose dependencies are met come back still WAITING: ``_claim`` queues them, and claims
        them in the same write when there is capacity.
        """
        config = self._config(run.namespace, run.pipeline, run.version)
        executions = self._store.list_executions(run.namespace, run.pipeline, run.id)
        latest = decisions.latest_attempts(executions)
        ready: list[tasks.Execution] = []
        if run.cancel_requested:
            self._stop_run(run, latest, CANCELLED)
        elif self._timed_out(run, config):
            self._stop_run(
                run,
                latest,
                reasons.Reason(
                    reasons.Kind.RUN_TIMEOUT, f"the run exceeded its timeout of {config.timeout:g}s"
                ),
            )
        else:
            for execution in sorted(latest.values(), key=lambda e: e.position):
                if execution.state is not tasks.State.WAITING:
                    continue
                decision = decisions.for_waiting(config.task(execution.task), latest)
                if decision is None:
                    continue
                event, reason = decision
                if event is tasks.Event.QUEUE:
                    ready.append(execution)  # queued and, capacity allowing, claimed in one write
                    continue
                state, status = tasks.MACHINE.apply(execution.state, event)
                latest[execution.task] = self._store.update_execution(
                    execution.evolve(
                        state=state, status=status, reason=reason, ended=self._clock()
                    ),
                    execution.revision,
                )
        outcome = decisions.run_outcome(run, latest)
        if outcome is not None:
            self._finish(run, *outcome)
            return []
        return [e for e in latest.values() if e.state is tasks.State.QUEUED] + ready

    def _timed_out(self, run: runs.Run, config: pipelines.Config) -> bool:
        if config.timeout is None or run.started is None:
            return False
        return (self._clock() - run.started).total_seconds() > config.timeout

    def _stop_run(
        self, run: runs.Run, latest: dict[str, tasks.Execution], reason: reasons.Reason
    ) -> None:
        self._cancel_waiting(run, reason, latest)
        for execution in latest.values():
            if execution.state in (tasks.State.STARTING, tasks.State.RUNNING):
                with self._lock:
                    stop = self._stops.get(_key(execution))
                if stop is not None:
                    stop.request(reason)

    def _cancel_waiting(
        self,
        run: runs.Run,
        reason: reasons.Reason,
        latest: dict[str, tasks.Execution] | None = None,
    ) -> None:
        if latest is None:
            latest = decisions.latest_attempts(
                self._store.list_executions(run.namespace, run.pipeline, run.id)
            )
        for task_id, execution in latest.items():
            if execution.state in (tasks.State.WAITING, tasks.State.QUEUED):
                state, status = tasks.MACHINE.apply(execution.state, tasks.Event.CANCEL)
                latest[task_id] = self._store.update_execution(
                    execution.evolve(
                        state=state, status=status, reason=reason, ended=self._clock()
                    ),
                    execution.revision,
                )

    def _finish(self, run: runs.Run, event: runs.Event, reason: reasons.Reason | None) -> None:
        state, status = runs.MACHINE.apply(run.state, event)
        self._store.update_run(
            run.evolve(state=state, status=status, reason=reason, ended=self._clock()),
            run.revision,
        )
        log.info("run complete", extra={"run": run.ref, "status": status.value})
        self.wake()  # a pending run of the same pipeline may start now

    # -- claiming ----------------------------------------------------------------------------

    def _claim(
        self,
        candidates: list[tasks.Execution],
        busy: int,
        runs_by_key: dict[RunKey, runs.Run],
    ) -> None:
        """Claim candidates oldest first while there is capacity; queue the rest durably."""
        free = self._limits.max_running_tasks - busy
        for execution in sorted(candidates, key=lambda e: (e.queued or e.created, e.position)):
            now = self._clock()
            state, status = execution.state, execution.status
            changes: dict[str, object] = {}
            if state is tasks.State.WAITING:
                state, status = tasks.MACHINE.apply(state, tasks.Event.QUEUE)
                changes["queued"] = now
            if free > 0:
                state, status = tasks.MACHINE.apply(state, tasks.Event.CLAIM)
                changes.update(
                    lease_owner=self._options.instance_id, lease_expires=now + LEASE, reason=None
                )
            elif execution.reason is None:
                changes["reason"] = self._global_limit
            elif not changes:
                continue
            try:
                written = self._store.update_execution(
                    execution.evolve(state=state, status=status, **changes), execution.revision
                )
            except errors.Conflict:
                continue
            if written.state is not tasks.State.STARTING:
                continue
            free -= 1
            stop = executor.Stop()
            with self._lock:
                self._stops[_key(written)] = stop
            run = runs_by_key[(written.namespace, written.pipeline, written.run)]
            task = self._config(run.namespace, run.pipeline, run.version).task(written.task)
            self._pool.submit(self._execute, written, run, task, stop)

    def _execute(
        self,
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: executor.Stop,
    ) -> None:
        try:
            self._executor.run(execution, run, task, stop)
        except Exception:
            log.exception("task execution failed unexpectedly", extra={"task": execution.ref})
        finally:
            with self._lock:
                self._stops.pop(_key(execution), None)
            self.wake()


def _key(execution: tasks.Execution) -> tuple[str, str, int, str, int]:
    return (
        execution.namespace,
        execution.pipeline,
        execution.run,
        execution.task,
        execution.attempt,
    )
