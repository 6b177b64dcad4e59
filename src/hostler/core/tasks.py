"""Task executions: one task inside one run (one attempt of it), and its state machine.

State is progress (waiting, queued, starting, running, complete); status is outcome (unknown until
complete, then successful, failed, cancelled, skipped or lost); the reason says why.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Iterable
from typing import Any

from hostler.core import errors, machine, reasons


class State(enum.StrEnum):
    """How far a task execution has come."""

    WAITING = "waiting"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    COMPLETE = "complete"


class Status(enum.StrEnum):
    """How a task execution ended; ``unknown`` until it is complete."""

    UNKNOWN = "unknown"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    LOST = "lost"


class Event(enum.StrEnum):
    """What can happen to a task execution."""

    QUEUE = "queue"
    SKIP = "skip"
    CLAIM = "claim"
    RELEASE = "release"
    RUN = "run"
    SUCCEED = "succeed"
    FAIL = "fail"
    CANCEL = "cancel"
    LOSE = "lose"


_C = State.COMPLETE
MACHINE: machine.Machine[State, Status, Event] = machine.Machine(
    "task execution",
    {
        (State.WAITING, Event.QUEUE): (State.QUEUED, Status.UNKNOWN),
        (State.WAITING, Event.SKIP): (_C, Status.SKIPPED),
        (State.WAITING, Event.CANCEL): (_C, Status.CANCELLED),
        (State.QUEUED, Event.CLAIM): (State.STARTING, Status.UNKNOWN),
        (State.QUEUED, Event.CANCEL): (_C, Status.CANCELLED),
        (State.STARTING, Event.RELEASE): (State.QUEUED, Status.UNKNOWN),
        (State.STARTING, Event.RUN): (State.RUNNING, Status.UNKNOWN),
        (State.STARTING, Event.FAIL): (_C, Status.FAILED),
        (State.STARTING, Event.CANCEL): (_C, Status.CANCELLED),
        (State.STARTING, Event.LOSE): (_C, Status.LOST),
        (State.RUNNING, Event.SUCCEED): (_C, Status.SUCCESSFUL),
        (State.RUNNING, Event.FAIL): (_C, Status.FAILED),
        (State.RUNNING, Event.CANCEL): (_C, Status.CANCELLED),
        (State.RUNNING, Event.LOSE): (_C, Status.LOST),
    },
)


def transition(state: State, event: Event) -> tuple[State, Status] | machine.Rejected:
    """Return the task execution's next ``(state, status)`` for ``event``, or Rejected."""
    return MACHINE.transition(state, event)


@dataclasses.dataclass(frozen=True)
class Execution:
    """One attempt of one task in one run. Immutable snapshot; ``revision`` guards updates."""

    namespace: str
    pipeline: str
    run: int
    task: str
    attempt: int
    state: State
    status: Status
    reason: reasons.Reason | None
    created: datetime.datetime
    position: int = 0
    """The task's place in the pipeline's dependency order; lists sort by it."""
    queued: datetime.datetime | None = None
    started: datetime.datetime | None = None
    ended: datetime.datetime | None = None
    exit_code: int | None = None
    container: str | None = None
    image_digest: str | None = None
    lease_owner: str | None = None
    lease_expires: datetime.datetime | None = None
    revision: int = 1

    @property
    def ref(self) -> str:
        """The task execution written for people: ``namespace/pipeline#run/task``."""
        return f"{self.namespace}/{self.pipeline}#{self.run}/{self.task}"

    @property
    def log_key(self) -> str:
        """The key of this attempt's log in the log store."""
        return f"{self.namespace}/{self.pipeline}/{self.run}/{self.task}/{self.attempt}"

    def evolve(self, **changes: Any) -> Execution:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def next_attempt(
        self, created: datetime.datetime, reason: reasons.Reason | None = None
    ) -> Execution:
        """Return the next attempt of this task: waiting, with nothing of this attempt's run."""
        return Execution(
            namespace=self.namespace,
            pipeline=self.pipeline,
            run=self.run,
            task=self.task,
            attempt=self.attempt + 1,
            state=State.WAITING,
            status=Status.UNKNOWN,
            reason=reason,
            created=created,
            position=self.position,
        )


def latest_attempts(executions: Iterable[Execution]) -> dict[str, Execution]:
    """Return the latest attempt of each task, by task id."""
    latest: dict[str, Execution] = {}
    for execution in executions:
        current = latest.get(execution.task)
        if current is None or execution.attempt > current.attempt:
            latest[execution.task] = execution
    return latest


def check_of_pipeline(namespace: str, pipeline: str, executions: Iterable[Execution]) -> None:
    """Raise InvalidArgument unless every execution belongs to the pipeline, each attempt once."""
    seen: set[tuple[str, int]] = set()
    for execution in executions:
        if (execution.namespace, execution.pipeline) != (namespace, pipeline):
            raise errors.InvalidArgument(
                f"task '{execution.task}': belongs to pipeline '{execution.namespace}/"
                f"{execution.pipeline}', not '{namespace}/{pipeline}'",
                field="task",
            )
        if (execution.task, execution.attempt) in seen:
            raise errors.InvalidArgument(
                f"task '{execution.task}' (attempt {execution.attempt}): given twice", field="task"
            )
        seen.add((execution.task, execution.attempt))
