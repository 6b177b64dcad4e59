"""The run state machine, table by table: every allowed transition and every forbidden one."""

from __future__ import annotations

import itertools

import pytest

from hostler.core import errors, machine, runs

S, St, E = runs.State, runs.Status, runs.Event

# The specification, written out so that a change to the table in core fails here.
ALLOWED: dict[tuple[runs.State, runs.Event], tuple[runs.State, runs.Status]] = {
    (S.PENDING, E.START): (S.RUNNING, St.UNKNOWN),
    (S.PENDING, E.FAIL): (S.COMPLETE, St.FAILED),
    (S.PENDING, E.CANCEL): (S.COMPLETE, St.CANCELLED),
    (S.RUNNING, E.SUCCEED): (S.COMPLETE, St.SUCCESSFUL),
    (S.RUNNING, E.FAIL): (S.COMPLETE, St.FAILED),
    (S.RUNNING, E.CANCEL): (S.COMPLETE, St.CANCELLED),
    (S.COMPLETE, E.REOPEN): (S.PENDING, St.UNKNOWN),
}
FORBIDDEN = [pair for pair in itertools.product(S, E) if pair not in ALLOWED]


def test_table_is_exactly_the_specified_one() -> None:
    assert dict(runs.MACHINE.table) == ALLOWED


@pytest.mark.parametrize(("start", "event", "expected"), [(*k, v) for k, v in ALLOWED.items()])
def test_allowed_transition_gives_the_specified_state_and_status(
    start: runs.State, event: runs.Event, expected: tuple[runs.State, runs.Status]
) -> None:
    assert runs.transition(start, event) == expected
    assert runs.MACHINE.apply(start, event) == expected


@pytest.mark.parametrize(("start", "event"), FORBIDDEN)
def test_forbidden_transition_is_rejected_naming_event_and_state(
    start: runs.State, event: runs.Event
) -> None:
    result = runs.transition(start, event)
    assert isinstance(result, machine.Rejected)
    assert result.message == f"run: cannot {event.value} when {start.value}"


@pytest.mark.parametrize(("start", "event"), FORBIDDEN)
def test_applying_a_forbidden_transition_raises_failed_precondition(
    start: runs.State, event: runs.Event
) -> None:
    with pytest.raises(errors.FailedPrecondition, match=f"cannot {event.value} when {start.value}"):
        runs.MACHINE.apply(start, event)


def test_forbidden_transitions_cover_the_rest_of_the_product() -> None:
    assert len(FORBIDDEN) == len(S) * len(E) - len(ALLOWED) == 8


def test_only_a_retry_by_hand_leaves_complete() -> None:
    leaving = {
        event for event in E if not isinstance(runs.transition(S.COMPLETE, event), machine.Rejected)
    }
    assert leaving == {E.REOPEN}


def test_only_a_running_run_can_succeed() -> None:
    assert {state for state, event in runs.MACHINE.table if event is E.SUCCEED} == {S.RUNNING}


def test_a_pending_run_can_be_cancelled_before_it_starts() -> None:
    assert runs.transition(S.PENDING, E.CANCEL) == (S.COMPLETE, St.CANCELLED)


def test_status_is_unknown_exactly_until_complete() -> None:
    for state, status in runs.MACHINE.table.values():
        assert (status is St.UNKNOWN) == (state is not S.COMPLETE)
