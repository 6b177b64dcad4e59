"""The engine's loop: start pending runs within limits, queue and skip tasks by the DAG, claim
queued tasks under the global limit, and finish runs.

One pass reads the active runs from the store, decides with ``engine.decisions`` and writes each
change with compare-and-set; a pass runs when something wakes the engine (a run started, a task
ended, a cancel asked) or every ``poll_interval`` seconds. The store is the source of truth: nothing
kept in memory here is needed to pick the work up again.

Claims are leases. Every third of a lease the engine renews the leases it holds and adopts the
starting and running executions no live engine holds: its own from before a restart, and those
whose lease expired because their engine died. ``recover`` does the same at start-up, then removes
containers of this installation that belong to no task execution.
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
from collections.abc import Callable, Mapping

from hostler.core import errors, pipelines, ports, reasons, runs, tasks
from hostler.engine import decisions, executor, runtokens

log = logging.getLogger(__name__)

RunKey = tuple[str, str, int]
Step = Callable[[tasks.Execution, runs.Run, pipelines.TaskConfig, executor.Stop], tasks.Execution]
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
        cipher: ports.Cipher | None = None,
        objects: ports.ObjectStore | None = None,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._limits = limits
        self._options = options
        self._clock = clock
        self._executor = executor.Executor(store, logs, scheduler, options, clock, cipher, objects)
        self._global_limit = reasons.Reason(
            reasons.Kind.GLOBAL_LIMIT,
            f"{limits.max_running_tasks} tasks are starting or running already "
            "(engine.max_running_tasks)",
        )
        # Claims stay within max_running_tasks; adopted tasks may exceed it and need threads too.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(64, 4 * limits.max_running_tasks), thread_name_prefix="task"
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
        recovered = self._guarded(self.recover)
        tend_at = time.monotonic() + self._options.lease / 3
        while not self._stopping.is_set():
            if self._wakeup.wait(self._limits.poll_interval):
                # Let the wake-ups of tasks ending together land in one pass.
                time.sleep(COALESCE)
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            if not recovered:
                recovered = self._guarded(self.recover)
            elif time.monotonic() >= tend_at:
                self._guarded(self.tend_leases)
                tend_at = time.monotonic() + self._options.lease / 3
            self._guarded(self.pass_once)

    def _guarded(self, step: Callable[[], object]) -> bool:
        """Run one step of the loop; log what breaks it and tell whether it went through."""
        try:
            step()
        except errors.Unavailable:
            log.warning("store or scheduler unavailable, will retry", exc_info=True)
        except Exception:
            log.exception("engine step failed", extra={"step": step.__name__})
        else:
            return True
        return False

    # -- leases and recovery -----------------------------------------------------------------

    def recover(self) -> None:
        """Adopt what no live engine watches, then clean up containers of no task execution."""
        self.tend_leases()
        self._clean_up_containers()

    def tend_leases(self) -> None:
        """Renew this engine's leases and adopt the starting and running executions no one holds.

        An execution is adopted when its lease expired, or when it is held in this engine's name
        but not watched by it (this engine was restarted). Adopting takes the lease over with
        compare-and-set, so of several engines exactly one adopts it.
        """
        me = self._options.instance_id
        now = self._clock()
        until = now + datetime.timedelta(seconds=self._options.lease)
        self._store.renew_leases(me, until)
        with self._lock:
            watched = set(self._stops)
        for execution in self._store.list_active_executions(limit=100_000):
            if execution.state not in (tasks.State.STARTING, tasks.State.RUNNING):
                continue
            if _key(execution) in watched:
                continue
            expired = execution.lease_expires is None or execution.lease_expires <= now
            if not expired and execution.lease_owner != me:
                continue
            try:
                adopted = self._store.update_execution(
                    execution.evolve(lease_owner=me, lease_expires=until), execution.revision
                )
            except errors.Conflict:
                continue  # another engine adopted it, or its own engine moved it on
            log.info(
                "task execution adopted",
                extra={"task": execution.ref, "from": execution.lease_owner},
            )
            run = self._store.get_run(execution.namespace, execution.pipeline, execution.run)
            self._submit(self._executor.resume, adopted, run)

    def _clean_up_containers(self) -> None:
        """Remove this installation's containers whose task execution is over or unknown."""
        installed = {executor.INSTALLATION: self._options.installation}
        for status in self._scheduler.list(installed):
            execution = self._execution_of(status.labels)
            if execution is None:
                log.warning(
                    "container belongs to no task execution",
                    extra={"container": status.handle, "labels": dict(status.labels)},
                )
                if not self._options.remove_orphans:
                    continue
            elif execution.state is not tasks.State.COMPLETE:
                continue
            elif execution.container == status.handle and not self._options.remove_containers:
                continue  # kept on purpose
            self._scheduler.remove(status.handle)

    def _execution_of(self, labels: Mapping[str, str]) -> tasks.Execution | None:
        p = ports.LABEL_PREFIX
        try:
            return self._store.get_execution(
                labels[f"{p}namespace"],
                labels[f"{p}pipeline"],
                int(labels[f"{p}run"]),
                labels[f"{p}task"],
                int(labels[f"{p}attempt"]),
            )
        except (KeyError, ValueError, errors.NotFound):
            return None

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
            except (errors.Conflict, errors.AlreadyExists):
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
        latest = tasks.latest_attempts(executions)
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
            # Retries first, so that the dependents of a failed task wait for its next attempt.
            run = self._retry_failed(run, config, latest)
            for execution in sorted(latest.values(), key=lambda e: e.position):
                if execution.state is not tasks.State.WAITING:
                    continue
                if not self._due(config, executions, execution):
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

    def _retry_failed(
        self, run: runs.Run, config: pipelines.Config, latest: dict[str, tasks.Execution]
    ) -> runs.Run:
        """Add the next attempt of each failed task whose ``retries`` allow one; return the run.

        The attempts are added with a compare-and-set on the run, so that none is added to a run
        someone is cancelling, and none twice.
        """
        now = self._clock()
        retries = []
        for execution in latest.values():
            reason = decisions.retry(config.task(execution.task), execution)
            if reason is not None:
                retries.append(execution.next_attempt(now, reason))
        if not retries:
            return run
        run, added = self._store.add_attempts(run, run.revision, retries)
        for execution in added:
            latest[execution.task] = execution
            log.info("task will be retried", extra={"task": execution.ref})
        return run

    def _due(
        self,
        config: pipelines.Config,
        executions: list[tasks.Execution],
        waiting: tasks.Execution,
    ) -> bool:
        """Tell whether a waiting attempt is past the back-off after its previous attempt."""
        if waiting.attempt == 1:
            return True
        previous = next(
            e for e in executions if e.task == waiting.task and e.attempt == waiting.attempt - 1
        )
        due = decisions.retry_due(config.task(waiting.task), previous, waiting)
        return due is None or self._clock() >= due

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
            latest = tasks.latest_attempts(
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
        runtokens.revoke_run(self._store, run.namespace, run.pipeline, run.id)
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
                changes.update(queued=now, reason=None)
            if free > 0:
                state, status = tasks.MACHINE.apply(state, tasks.Event.CLAIM)
                changes.update(
                    lease_owner=self._options.instance_id,
                    lease_expires=now + datetime.timedelta(seconds=self._options.lease),
                    reason=None,
                )
            elif changes.get("reason", execution.reason) is None:
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
            self._submit(
                self._executor.run,
                written,
                runs_by_key[(written.namespace, written.pipeline, written.run)],
            )

    def _submit(self, step: Step, execution: tasks.Execution, run: runs.Run) -> None:
        """Hand a claimed or adopted execution to a task thread, watched until it returns."""
        stop = executor.Stop()
        with self._lock:
            self._stops[_key(execution)] = stop
        task = self._config(run.namespace, run.pipeline, run.version).task(execution.task)
        self._pool.submit(self._execute, step, execution, run, task, stop)

    def _execute(
        self,
        step: Step,
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: executor.Stop,
    ) -> None:
        try:
            step(execution, run, task, stop)
        except Exception:
            log.exception("task execution failed unexpectedly", extra={"task": execution.ref})
        finally:
            with self._lock:
                if self._stops.get(_key(execution)) is stop:  # not a later claim's, after RELEASE
                    del self._stops[_key(execution)]
            self.wake()


def _key(execution: tasks.Execution) -> tuple[str, str, int, str, int]:
    return (
        execution.namespace,
        execution.pipeline,
        execution.run,
        execution.task,
        execution.attempt,
    )
