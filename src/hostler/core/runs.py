"""Runs: one execution of a pipeline version, and the state machine it follows.

State is progress (pending, running, complete); status is outcome (unknown until complete, then
successful, failed or cancelled); the reason says why.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any

from hostler.core import machine, reasons


class State(enum.StrEnum):
    """How far a run has come."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"


class Status(enum.StrEnum):
    """How a run ended; ``unknown`` until it is complete."""

    UNKNOWN = "unknown"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Route(enum.StrEnum):
    """Why a run has its version: the live one, or the candidate of a canary."""

    LIVE = "live"
    CANARY = "canary"


class Event(enum.StrEnum):
    """What can happen to a run."""

    START = "start"
    SUCCEED = "succeed"
    FAIL = "fail"
    CANCEL = "cancel"
    REOPEN = "reopen"


MACHINE: machine.Machine[State, Status, Event] = machine.Machine(
    "run",
    {
        (State.PENDING, Event.START): (State.RUNNING, Status.UNKNOWN),
        (State.PENDING, Event.FAIL): (State.COMPLETE, Status.FAILED),
        (State.PENDING, Event.CANCEL): (State.COMPLETE, Status.CANCELLED),
        (State.RUNNING, Event.SUCCEED): (State.COMPLETE, Status.SUCCESSFUL),
        (State.RUNNING, Event.FAIL): (State.COMPLETE, Status.FAILED),
        (State.RUNNING, Event.CANCEL): (State.COMPLETE, Status.CANCELLED),
        # a task of a complete run is retried by hand: the run starts again in its turn
        (State.COMPLETE, Event.REOPEN): (State.PENDING, Status.UNKNOWN),
    },
)


def transition(state: State, event: Event) -> tuple[State, Status] | machine.Rejected:
    """Return the run's next ``(state, status)`` for ``event``, or Rejected."""
    return MACHINE.transition(state, event)


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a pipeline. Immutable snapshot; ``revision`` guards updates (compare-and-set)."""

    namespace: str
    pipeline: str
    id: int
    version: int
    state: State
    status: Status
    reason: reasons.Reason | None
    variables: dict[str, str]
    trigger: str
    created: datetime.datetime
    started: datetime.datetime | None = None
    ended: datetime.datetime | None = None
    cancel_requested: bool = False
    logs_deleted: datetime.datetime | None = None
    """When the task logs of the run were deleted (retention or on request); None: kept."""
    route: Route = Route.LIVE
    revision: int = 1

    @property
    def ref(self) -> str:
        """The run written for people: ``namespace/pipeline#id``."""
        return f"{self.namespace}/{self.pipeline}#{self.id}"

    def evolve(self, **changes: Any) -> Run:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)
