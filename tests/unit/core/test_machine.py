"""The shared shape of state machines: a table, a pure transition, and apply."""

from __future__ import annotations

import enum

import pytest

from hostler.core import errors, machine


class State(enum.StrEnum):
    OFF = "off"
    ON = "on"


class Status(enum.StrEnum):
    UNKNOWN = "unknown"
    LIT = "lit"


class Event(enum.StrEnum):
    PRESS = "press"
    BREAK = "break"


LAMP: machine.Machine[State, Status, Event] = machine.Machine(
    "lamp", {(State.OFF, Event.PRESS): (State.ON, Status.LIT)}
)


def test_transition_in_the_table_returns_the_next_state_and_status() -> None:
    assert LAMP.transition(State.OFF, Event.PRESS) == (State.ON, Status.LIT)


def test_transition_not_in_the_table_is_rejected_naming_machine_event_and_state() -> None:
    assert LAMP.transition(State.ON, Event.PRESS) == machine.Rejected("lamp: cannot press when on")


def test_apply_returns_the_next_state_and_status_when_allowed() -> None:
    assert LAMP.apply(State.OFF, Event.PRESS) == (State.ON, Status.LIT)


def test_apply_raises_failed_precondition_with_the_rejection_message() -> None:
    with pytest.raises(errors.FailedPrecondition) as caught:
        LAMP.apply(State.OFF, Event.BREAK)
    assert caught.value.message == "lamp: cannot break when off"
    assert caught.value.code == "failed_precondition"


def test_rejected_is_an_immutable_value() -> None:
    rejected = machine.Rejected("no")
    assert rejected == machine.Rejected("no")
    with pytest.raises(AttributeError):
        rejected.message = "yes"  # type: ignore[misc]
