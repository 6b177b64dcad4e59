"""Carries one claimed task execution through its container's life.

create → record container and image digest → start → collect logs → wait (timeout, cancel) →
record the outcome → end the log → remove the container. Each state change goes through the task
state machine and the store's compare-and-set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable

from hostler.core import (
    durations,
    errors,
    objects,
    pipelines,
    ports,
    reasons,
    runs,
    secrets,
    secretvalues,
    tasks,
    tokens,
    variables,
)
from hostler.engine import logcollector, runtokens
from hostler.engine import objects as task_objects
from hostler.engine import secrets as task_secrets

log = logging.getLogger(__name__)

WAIT_SLICE = 0.5
"""Seconds between checks for cancellation and timeout while a container runs."""
REMOVAL_CHECK = 0.3
"""Seconds after a kill not sent by Hostler before looking whether the container was removed."""


@dataclasses.dataclass(frozen=True)
class Options:
    """How tasks are run; taken from the engine settings."""

    stop_grace: float
    remove_containers: bool
    instance_id: str
    lease: float = 15.0
    """Seconds a claim holds without renewal; the engine renews it while the task runs."""
    installation: str = "hostler"
    """Names the Hostler installation (its database): containers of another one are not ours."""
    remove_orphans: bool = True
    """Remove containers found with this installation's labels but no task execution."""
    api_url: str | None = None
    """The URL tasks reach the API at (HOSTLER_URL of a task with ``inject_api_token``)."""


class Stop:
    """A request to stop one running task, with the reason to record."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: reasons.Reason | None = None

    def request(self, reason: reasons.Reason) -> None:
        """Ask the task to stop; the first reason given is kept."""
        if self.reason is None:
            self.reason = reason
        self._event.set()

    @property
    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self._event.is_set()


INSTALLATION = ports.LABEL_PREFIX + "installation"


def labels(execution: tasks.Execution, options: Options) -> dict[str, str]:
    """Return the labels that let Hostler find the container of ``execution`` again."""
    return {
        **identity(execution, options.installation),
        f"{ports.LABEL_PREFIX}instance": options.instance_id,
    }


def identity(execution: tasks.Execution, installation: str) -> dict[str, str]:
    """Return the labels that name ``execution``: every container made for it carries them."""
    p = ports.LABEL_PREFIX
    return {
        INSTALLATION: installation,
        f"{p}namespace": execution.namespace,
        f"{p}pipeline": execution.pipeline,
        f"{p}run": str(execution.run),
        f"{p}task": execution.task,
        f"{p}attempt": str(execution.attempt),
    }


class Executor:
    """Runs claimed task executions on a scheduler, recording every step in the store."""

    def __init__(
        self,
        store: ports.Store,
        logs: ports.LogStore,
        scheduler: ports.Scheduler,
        options: Options,
        clock: Callable[[], datetime.datetime],
        cipher: ports.Cipher | None = None,
        objects: ports.ObjectStore | None = None,
    ) -> None:
        self._store = store
        self._cipher = cipher
        self._objects = objects
        self._logs = logs
        self._scheduler = scheduler
        self._options = options
        self._clock = clock

    def _move(
        self, execution: tasks.Execution, event: tasks.Event, **changes: object
    ) -> tasks.Execution:
        state, status = tasks.MACHINE.apply(execution.state, event)
        updated = execution.evolve(state=state, status=status, **changes)
        return self._store.update_execution(updated, execution.revision)

    def run(
        self,
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> tasks.Execution:
        """Carry ``execution`` (claimed, STARTING) to COMPLETE and return its last snapshot."""
        return self._guarded(self._run, execution, run, task, stop)

    def resume(
        self,
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> tasks.Execution:
        """Take up ``execution`` (STARTING or RUNNING, its lease just taken over) where it was left.

        Its container is found by handle or labels: one still running is re-attached (its log copy
        resumes where the stored log ends), one that exited has its exit code recorded, one that
        vanished makes the execution LOST, and one never started is removed and the execution
        queued again.
        """
        return self._guarded(self._resume, execution, run, task, stop)

    def _guarded(
        self,
        step: Callable[[tasks.Execution, runs.Run, pipelines.TaskConfig, Stop], tasks.Execution],
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> tasks.Execution:
        try:
            return step(execution, run, task, stop)
        except errors.Conflict:
            log.warning("task execution changed elsewhere", extra={"task": execution.ref})
            return self._reread(execution)
        except Exception as exc:
            # Whatever broke (the scheduler, or a bug here), the task must not stay STARTING or
            # RUNNING forever: record it failed with what went wrong.
            log.exception("task execution broke off", extra={"task": execution.ref})
            current = self._reread(execution)
            if current.state in (tasks.State.STARTING, tasks.State.RUNNING):
                kind = (
                    reasons.Kind.SCHEDULER_ERROR
                    if isinstance(exc, errors.HostlerError)
                    else reasons.Kind.ENGINE_ERROR
                )
                reason = reasons.Reason(kind, f"{type(exc).__name__}: {exc}")
                current = self._move(current, tasks.Event.FAIL, reason=reason, ended=self._clock())
            return current

    def _reread(self, execution: tasks.Execution) -> tasks.Execution:
        return self._store.get_execution(
            execution.namespace,
            execution.pipeline,
            execution.run,
            execution.task,
            execution.attempt,
        )

    def _run(
        self,
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> tasks.Execution:
        if stop.requested and stop.reason is not None:
            return self._move(
                execution, tasks.Event.CANCEL, reason=stop.reason, ended=self._clock()
            )
        # Secrets come from the task's own env only: a run variable cannot name one to read it.
        resolved = secretvalues.resolve(
            self._store, self._cipher, execution.namespace, execution.pipeline, task.env
        )
        if isinstance(resolved, reasons.Reason):
            return self._fail_to_start(execution, resolved.description, kind=resolved.kind)
        # Objects after secrets: an object's content never names a secret to read.
        prepared = task_objects.prepare(
            self._store, self._objects, execution, resolved.values, task.objects
        )
        if isinstance(prepared, reasons.Reason):
            return self._fail_to_start(execution, prepared.description, kind=prepared.kind)
        env = variables.resolve(
            namespace=execution.namespace,
            pipeline=execution.pipeline,
            run=execution.run,
            task=execution.task,
            attempt=execution.attempt,
            task_env=prepared.env,
            run_variables=run.variables,
        )
        # What Hostler gives the task comes last: a run variable cannot send its token elsewhere.
        env[ports.OBJECTS_ENV] = objects.FILES_DIR
        token: tokens.Token | None = None
        masker = resolved.masker
        if task.inject_api_token:
            token, text = runtokens.issue(self._store, execution, self._clock())
            env.update(HOSTLER_URL=self._options.api_url or "", HOSTLER_TOKEN=text)
            masker = masker.adding(text)
        try:
            return self._create_and_start(execution, task, stop, env, prepared.files, masker)
        finally:
            if token is not None:
                runtokens.revoke(self._store, token)

    def _create_and_start(
        self,
        execution: tasks.Execution,
        task: pipelines.TaskConfig,
        stop: Stop,
        env: dict[str, str],
        files: list[ports.File],
        masker: secrets.Masker,
    ) -> tasks.Execution:
        """Create the container, copy the task's files in, start it and watch it to the end."""
        spec = ports.ContainerSpec(
            name=f"hostler-{execution.namespace}-{execution.pipeline}-{execution.run}-"
            f"{execution.task}-{execution.attempt}-{uuid.uuid4().hex[:6]}",
            image=task.image,
            command=tuple(task.command) if task.command is not None else None,
            env=env,
            labels=labels(execution, self._options),
        )
        try:
            handle = self._scheduler.create(spec)
        except errors.HostlerError as exc:
            message = masker.mask(f"could not create the container: {exc}")
            return self._fail_to_start(execution, message)
        try:
            if files:
                self._scheduler.copy_in(handle, files)
            digest = self._scheduler.inspect(handle).image_digest
            self._scheduler.start(handle)
        except errors.HostlerError as exc:
            self._discard(handle)  # the start failure is what the user must see
            return self._fail_to_start(
                execution, masker.mask(f"could not start the container: {exc}")
            )
        # One write records the container, its image digest and the start: the container's labels
        # already tie it to this execution should the engine stop in between.
        try:
            execution = self._move(
                execution,
                tasks.Event.RUN,
                started=self._clock(),
                container=handle,
                image_digest=digest,
                lease_expires=self._lease_end(),
            )
        except errors.Conflict:
            # Another engine took the execution over (this one's lease lapsed): it owns the task
            # now, so this container must not run on beside its own.
            self._discard(handle)
            raise
        collector = logcollector.start(
            self._scheduler, self._logs, handle, execution.log_key, masker
        )
        return self._watch(execution, handle, task, stop, collector, masker)

    def _resume(
        self,
        execution: tasks.Execution,
        run: runs.Run,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> tasks.Execution:
        found = self._find(execution)
        if execution.state is tasks.State.STARTING:
            if found is None or found.state is ports.ContainerState.CREATED:
                if found is not None:
                    self._discard(found.handle)
                log.info("task queued again: it had not started", extra={"task": execution.ref})
                return self._move(
                    execution, tasks.Event.RELEASE, lease_owner=None, lease_expires=None
                )
            execution = self._move(
                execution,
                tasks.Event.RUN,
                started=found.started or self._clock(),
                container=found.handle,
                image_digest=found.image_digest,
                lease_expires=self._lease_end(),
            )
        if found is None:
            self._logs.end(execution.log_key)
            return self._move(
                execution,
                tasks.Event.LOSE,
                reason=reasons.Reason(
                    reasons.Kind.LOST, "the container vanished while no engine was watching it"
                ),
                ended=self._clock(),
            )
        log.info("task re-attached", extra={"task": execution.ref, "container": found.handle})
        masker = task_secrets.masker(
            self._store, self._cipher, execution.namespace, execution.pipeline, task.env
        )
        collector = logcollector.resume(
            self._scheduler, self._logs, found.handle, execution.log_key, masker
        )
        return self._watch(execution, found.handle, task, stop, collector, masker)

    def _find(self, execution: tasks.Execution) -> ports.ContainerStatus | None:
        """Return the execution's container (the one that started, if several); None if gone."""
        if execution.container is not None:
            status = self._scheduler.inspect(execution.container)
            if status.state is not ports.ContainerState.MISSING:
                return status
        found = self._scheduler.list(identity(execution, self._options.installation))
        found.sort(key=lambda s: s.state is ports.ContainerState.CREATED)
        for extra in found[1:]:
            self._discard(extra.handle)
        return found[0] if found else None

    def _watch(
        self,
        execution: tasks.Execution,
        handle: str,
        task: pipelines.TaskConfig,
        stop: Stop,
        collector: logcollector.Collector,
        masker: secrets.Masker,
    ) -> tasks.Execution:
        """Wait for the running container to end, then store its log end and its outcome.

        Meanwhile Hostler's own log masks the task's secrets too.
        """
        held = secrets.RUNNING.hold(masker)
        try:
            status = self._wait(execution, handle, task, stop)
            if _signalled(status) and not stop.requested:
                # 'docker rm -f' kills before it removes: look again to tell a removal from a kill.
                time.sleep(REMOVAL_CHECK)
                again = self._scheduler.inspect(handle)
                if again.state is ports.ContainerState.MISSING:
                    status = again
            collector.finish()
            execution = self._record_outcome(execution, status, task, stop)
            if self._options.remove_containers:
                self._scheduler.remove(handle)
            return execution
        finally:
            secrets.RUNNING.release(held)

    def _discard(self, handle: str) -> None:
        with contextlib.suppress(Exception):
            self._scheduler.remove(handle)

    def _lease_end(self) -> datetime.datetime:
        return self._clock() + datetime.timedelta(seconds=self._options.lease)

    def _fail_to_start(
        self,
        execution: tasks.Execution,
        message: str,
        kind: reasons.Kind = reasons.Kind.SCHEDULER_ERROR,
    ) -> tasks.Execution:
        log.warning("task failed to start", extra={"task": execution.ref, "error": message})
        self._logs.end(execution.log_key)
        return self._move(
            execution, tasks.Event.FAIL, reason=reasons.Reason(kind, message), ended=self._clock()
        )

    def _wait(
        self,
        execution: tasks.Execution,
        handle: str,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> ports.ContainerStatus:
        deadline = None
        if task.timeout is not None:
            # Counted from the recorded start, so that a re-attached task keeps its deadline.
            ran = (self._clock() - (execution.started or self._clock())).total_seconds()
            deadline = time.monotonic() + task.timeout - max(0.0, ran)
        while True:
            slice_ = WAIT_SLICE
            if deadline is not None:
                slice_ = max(0.0, min(slice_, deadline - time.monotonic()))
            status = self._scheduler.wait(handle, timeout=slice_)
            if status.state in (ports.ContainerState.EXITED, ports.ContainerState.MISSING):
                return status
            if deadline is not None and time.monotonic() >= deadline and not stop.requested:
                stop.request(
                    reasons.Reason(
                        reasons.Kind.TIMEOUT,
                        f"exceeded its timeout of {durations.format(task.timeout or 0)}",
                    )
                )
            if stop.requested:
                self._scheduler.stop(handle, self._options.stop_grace)
                return self._scheduler.wait(handle, timeout=self._options.stop_grace + 5)

    def _record_outcome(
        self,
        execution: tasks.Execution,
        status: ports.ContainerStatus,
        task: pipelines.TaskConfig,
        stop: Stop,
    ) -> tasks.Execution:
        now = self._clock()
        if stop.reason is not None:
            event = (
                tasks.Event.FAIL if stop.reason.kind is reasons.Kind.TIMEOUT else tasks.Event.CANCEL
            )
            return self._move(
                execution, event, reason=stop.reason, ended=now, exit_code=status.exit_code
            )
        if status.state is ports.ContainerState.MISSING:
            return self._move(
                execution,
                tasks.Event.LOSE,
                reason=reasons.Reason(
                    reasons.Kind.LOST, "the container was removed while it ran, not by Hostler"
                ),
                ended=now,
            )
        if status.exit_code == 0:
            return self._move(execution, tasks.Event.SUCCEED, ended=now, exit_code=0)
        why = f"exited with code {status.exit_code}"
        if status.oom_killed:
            why += " (killed: out of memory)"
        elif _signalled(status) and status.exit_code is not None:
            why += f" ({_signal_name(status.exit_code - 128)}, not sent by Hostler)"
        return self._move(
            execution,
            tasks.Event.FAIL,
            reason=reasons.Reason(reasons.Kind.EXIT_CODE, why),
            ended=now,
            exit_code=status.exit_code,
        )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _signalled(status: ports.ContainerStatus) -> bool:
    """Tell whether the container exited on a signal (an exit code above 128)."""
    return (
        status.state is ports.ContainerState.EXITED
        and status.exit_code is not None
        and status.exit_code > 128
    )
