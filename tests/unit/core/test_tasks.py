"""Task executions: the state machine, table by table, and the attempts of a task."""

from __future__ import annotations

import datetime
import itertools

import pytest

from hostler.core import errors, machine, reasons, tasks

S, St, E = tasks.State, tasks.Status, tasks.Event

# The specification, written out so that a change to the table in core fails here.
ALLOWED: dict[tuple[tasks.State, tasks.Event], tuple[tasks.State, tasks.Status]] = {
    (S.WAITING, E.QUEUE): (S.QUEUED, St.UNKNOWN),
    (S.WAITING, E.SKIP): (S.COMPLETE, St.SKIPPED),
    (S.WAITING, E.CANCEL): (S.COMPLETE, St.CANCELLED),
    (S.QUEUED, E.CLAIM): (S.STARTING, St.UNKNOWN),
    (S.QUEUED, E.CANCEL): (S.COMPLETE, St.CANCELLED),
    (S.STARTING, E.RELEASE): (S.QUEUED, St.UNKNOWN),
    (S.STARTING, E.RUN): (S.RUNNING, St.UNKNOWN),
    (S.STARTING, E.FAIL): (S.COMPLETE, St.FAILED),
    (S.STARTING, E.CANCEL): (S.COMPLETE, St.CANCELLED),
    (S.STARTING, E.LOSE): (S.COMPLETE, St.LOST),
    (S.RUNNING, E.SUCCEED): (S.COMPLETE, St.SUCCESSFUL),
    (S.RUNNING, E.FAIL): (S.COMPLETE, St.FAILED),
    (S.RUNNING, E.CANCEL): (S.COMPLETE, St.CANCELLED),
    (S.RUNNING, E.LOSE): (S.COMPLETE, St.LOST),
}
FORBIDDEN = [pair for pair in itertools.product(S, E) if pair not in ALLOWED]


def test_table_is_exactly_the_specified_one() -> None:
    assert dict(tasks.MACHINE.table) == ALLOWED


@pytest.mark.parametrize(("start", "event", "expected"), [(*k, v) for k, v in ALLOWED.items()])
def test_allowed_transition_gives_the_specified_state_and_status(
    start: tasks.State, event: tasks.Event, expected: tuple[tasks.State, tasks.Status]
) -> None:
    assert tasks.transition(start, event) == expected
    assert tasks.MACHINE.apply(start, event) == expected


@pytest.mark.parametrize(("start", "event"), FORBIDDEN)
def test_forbidden_transition_is_rejected_naming_event_and_state(
    start: tasks.State, event: tasks.Event
) -> None:
    result = tasks.transition(start, event)
    assert isinstance(result, machine.Rejected)
    assert result.message == f"task execution: cannot {event.value} when {start.value}"


@pytest.mark.parametrize(("start", "event"), FORBIDDEN)
def test_applying_a_forbidden_transition_raises_failed_precondition(
    start: tasks.State, event: tasks.Event
) -> None:
    with pytest.raises(errors.FailedPrecondition, match=f"cannot {event.value} when {start.value}"):
        tasks.MACHINE.apply(start, event)


def test_forbidden_transitions_cover_the_rest_of_the_product() -> None:
    assert len(FORBIDDEN) == len(S) * len(E) - len(ALLOWED) == 31


def test_cancel_from_waiting_marks_task_cancelled() -> None:
    assert tasks.transition(S.WAITING, E.CANCEL) == (S.COMPLETE, St.CANCELLED)


def test_release_from_starting_puts_task_back_in_the_queue() -> None:
    assert tasks.transition(S.STARTING, E.RELEASE) == (S.QUEUED, St.UNKNOWN)


def test_nothing_leaves_complete() -> None:
    for event in E:
        assert isinstance(tasks.transition(S.COMPLETE, event), machine.Rejected)


def test_only_a_running_task_can_succeed() -> None:
    assert {state for state, event in tasks.MACHINE.table if event is E.SUCCEED} == {S.RUNNING}


def test_a_task_is_skipped_only_from_waiting() -> None:
    skipped_from = {k[0] for k, v in tasks.MACHINE.table.items() if v[1] is St.SKIPPED}
    assert skipped_from == {S.WAITING}


def test_a_task_is_lost_only_from_starting_or_running() -> None:
    lost_from = {k[0] for k, v in tasks.MACHINE.table.items() if v[1] is St.LOST}
    assert lost_from == {S.STARTING, S.RUNNING}


def test_status_is_unknown_exactly_until_complete() -> None:
    for state, status in tasks.MACHINE.table.values():
        assert (status is St.UNKNOWN) == (state is not S.COMPLETE)


def test_execution_names_itself_for_people_and_for_the_log_store() -> None:
    execution = tasks.Execution(
        namespace="default",
        pipeline="build",
        run=42,
        task="test",
        attempt=2,
        state=S.WAITING,
        status=St.UNKNOWN,
        reason=None,
        created=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    )
    assert execution.ref == "default/build#42/test"
    assert execution.log_key == "default/build/42/test/2"
    moved = execution.evolve(state=S.QUEUED)
    assert (moved.state, execution.state) == (S.QUEUED, S.WAITING)


T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=1)


def attempt(task: str = "test", number: int = 1, **changes: object) -> tasks.Execution:
    """Return attempt ``number`` of ``task`` of run default/build#42, waiting, with ``changes``."""
    execution = tasks.Execution(
        namespace="default",
        pipeline="build",
        run=42,
        task=task,
        attempt=number,
        state=S.WAITING,
        status=St.UNKNOWN,
        reason=None,
        created=T0,
        position=3,
    )
    return execution.evolve(**changes)


def test_next_attempt_is_a_fresh_waiting_execution_of_the_same_task_in_the_same_place() -> None:
    failed = attempt(
        number=2,
        state=S.COMPLETE,
        status=St.FAILED,
        reason=reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 1"),
        queued=T0,
        started=T0,
        ended=T0,
        exit_code=1,
        container="c0ffee",
        image_digest="sha256:ab",
        lease_owner="server-1",
        lease_expires=T1,
        revision=7,
    )
    why = reasons.Reason(reasons.Kind.RETRY_BACKOFF, "attempt 3 of 3 starts 2s after attempt 2")

    following = failed.next_attempt(T1, why)

    assert following == tasks.Execution(
        namespace="default",
        pipeline="build",
        run=42,
        task="test",
        attempt=3,
        state=S.WAITING,
        status=St.UNKNOWN,
        reason=why,
        created=T1,
        position=3,
    )
    assert following.ref == failed.ref
    assert following.log_key == "default/build/42/test/3"
    assert failed.attempt == 2  # the earlier attempt is left as it was


def test_next_attempt_without_a_reason_has_none() -> None:
    assert attempt(state=S.COMPLETE, status=St.LOST).next_attempt(T1).reason is None


def test_latest_attempts_keeps_the_highest_attempt_of_each_task_whatever_the_order() -> None:
    build_1, build_2, build_3 = (attempt("build", n) for n in (1, 2, 3))
    test_1 = attempt("test", 1)
    deploy_1, deploy_2 = attempt("deploy", 1), attempt("deploy", 2)

    for order in itertools.permutations([build_1, build_2, build_3, test_1, deploy_1, deploy_2]):
        latest = tasks.latest_attempts(order)
        assert latest == {"build": build_3, "test": test_1, "deploy": deploy_2}


def test_latest_attempts_of_nothing_is_empty() -> None:
    assert tasks.latest_attempts(iter([])) == {}
