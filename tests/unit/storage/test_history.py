"""The audit history of every Store: records started, finished once, listed, and abandoned."""

from __future__ import annotations

import datetime

import pytest

from hostler.core import errors, history, ports

from .conftest import NOW

LATER = NOW + datetime.timedelta(minutes=5)
CET = datetime.timezone(datetime.timedelta(hours=1))
Outcome = history.Outcome


def record(
    kind: str = "pipeline.deploy",
    started: datetime.datetime = NOW,
    instance: str = "server-1",
    **detail: object,
) -> history.Record:
    """Return a record not yet stored (id 0) of an operation on ``default/hello``."""
    return history.Record(0, kind, "default/hello", "alice", instance, started, dict(detail))


def start(store: ports.Store, *records: history.Record) -> list[int]:
    """Start ``records`` in order and return their ids."""
    return [store.start_history(r).id for r in records]


def listed(store: ports.Store, selected: history.Filter = history.Filter()) -> list[int]:
    """Return the ids of every record that passes ``selected``, in the order listed."""
    return [r.id for r in store.list_history(selected, None, 100)]


def test_start_gives_increasing_ids_and_returns_the_record_as_stored(
    store: ports.Store,
) -> None:
    started = store.start_history(record(started=NOW.astimezone(CET), file="hello.yaml"))
    assert started == record(file="hello.yaml").evolve(id=1)
    assert started.started.utcoffset() == datetime.timedelta(0)
    assert start(store, record(), record()) == [2, 3]
    assert store.list_history(history.Filter(), None, 1) == [record().evolve(id=3)]


def test_finish_records_the_end_and_adds_to_the_detail(store: ports.Store) -> None:
    [first] = start(store, record(file="hello.yaml", plan="v1"))
    store.finish_history(first, LATER, Outcome.FAILED, {"plan": "v2", "code": 3}, "it broke")
    [finished] = store.list_history(history.Filter(), None, 10)
    assert finished == record(file="hello.yaml", plan="v2", code=3).evolve(
        id=first, finished=LATER, outcome=Outcome.FAILED, error="it broke"
    )


def test_finishing_twice_is_a_failed_precondition(store: ports.Store) -> None:
    [first] = start(store, record())
    store.finish_history(first, LATER, Outcome.SUCCEEDED, {}, None)
    with pytest.raises(errors.FailedPrecondition) as caught:
        store.finish_history(first, LATER, Outcome.FAILED, {"late": True}, "again")
    assert caught.value.message == "history record 1: finished already"
    assert caught.value.field == "record"
    [kept] = store.list_history(history.Filter(), None, 10)
    assert (kept.outcome, kept.detail, kept.error) == (Outcome.SUCCEEDED, {}, None)


def test_finishing_a_missing_record_is_not_found(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound) as caught:
        store.finish_history(4, LATER, Outcome.SUCCEEDED, {}, None)
    assert caught.value.message == "history record 4: not found"
    assert caught.value.field == "record"


def test_list_history_pages_newest_first(store: ports.Store) -> None:
    start(store, *(record() for _ in range(5)))
    first = store.list_history(history.Filter(), None, 2)
    second = store.list_history(history.Filter(), first[-1].id, 2)
    third = store.list_history(history.Filter(), second[-1].id, 2)
    assert [[r.id for r in page] for page in (first, second, third)] == [[5, 4], [3, 2], [1]]
    assert store.list_history(history.Filter(), 1, 2) == []


def test_list_history_filters_by_start_time_and_kind(store: ports.Store) -> None:
    hour = datetime.timedelta(hours=1)
    start(
        store,
        record("pipeline.deploy", NOW - hour),
        record("namespace.create", NOW),
        record("pipeline.rollback", NOW + hour),
        record("pipelines.other", NOW + 2 * hour),
        record("pipeline", NOW + 3 * hour),
    )
    assert listed(store, history.Filter(since=NOW)) == [5, 4, 3, 2]
    assert listed(store, history.Filter(until=NOW + hour)) == [2, 1]
    assert listed(store, history.Filter(since=NOW.astimezone(CET), until=NOW + hour)) == [2]
    assert listed(store, history.Filter(kinds=("pipeline",))) == [5, 3, 1]
    assert listed(store, history.Filter(kinds=("pipeline.deploy", "namespace"))) == [2, 1]
    assert listed(store, history.Filter(since=NOW, kinds=("pipeline",))) == [5, 3]
    assert listed(store, history.Filter(kinds=("pipeline.dep",))) == []


def test_abandon_marks_only_the_instances_unfinished_records_incomplete(
    store: ports.Store,
) -> None:
    done, open_1, other, open_2 = start(
        store,
        record(instance="server-1"),
        record(instance="server-1"),
        record(instance="server-2"),
        record(instance="server-1"),
    )
    store.finish_history(done, NOW, Outcome.SUCCEEDED, {}, None)

    assert store.abandon_history("server-1", LATER) == 2
    assert store.abandon_history("server-1", LATER) == 0

    found = {r.id: (r.outcome, r.finished) for r in store.list_history(history.Filter(), None, 10)}
    assert found == {
        done: (Outcome.SUCCEEDED, NOW),
        open_1: (Outcome.INCOMPLETE, LATER),
        other: (None, None),
        open_2: (Outcome.INCOMPLETE, LATER),
    }
    with pytest.raises(errors.FailedPrecondition):
        store.finish_history(open_1, LATER, Outcome.SUCCEEDED, {}, None)


def test_records_read_back_are_copies(store: ports.Store) -> None:
    started = store.start_history(record(steps=["plan"]))
    started.detail["steps"].append("leak")
    store.list_history(history.Filter(), None, 10)[0].detail.clear()
    assert store.list_history(history.Filter(), None, 10)[0].detail == {"steps": ["plan"]}
