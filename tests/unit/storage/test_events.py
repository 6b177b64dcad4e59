"""The event log of every Store: one event per change, exactly once, in order, never reused ids."""

from __future__ import annotations

import dataclasses
import datetime
import time

import pytest

from hostler.core import errors, events, namespaces, ports, reasons, runs, tasks

from .conftest import NOW, MakeRun, config, register

LATER = NOW + datetime.timedelta(minutes=5)
EVERYTHING = events.Filter()
RUN_1 = events.Filter(pipeline="hello", run=1)
FAILED = reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 4")


def listed(store: ports.Store, selected: events.Filter = EVERYTHING) -> list[events.Event]:
    """Return every event that passes ``selected``."""
    return store.list_events(selected, None, 1000)


def kinds(store: ports.Store, selected: events.Filter = EVERYTHING) -> list[str]:
    """Return the kinds of the events that pass ``selected``, in order."""
    return [e.kind for e in listed(store, selected)]


def step(
    store: ports.Store, execution: tasks.Execution, state: tasks.State, **changes: object
) -> tasks.Execution:
    """Write ``execution`` in ``state`` (and ``changes``) with compare-and-set; return it."""
    return store.update_execution(execution.evolve(state=state, **changes), execution.revision)


def test_a_runs_life_writes_one_event_per_transition_in_order(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, build) = make_run()
    run = store.update_run(run.evolve(state=runs.State.RUNNING, started=NOW), run.revision)
    fetch = step(store, fetch, tasks.State.QUEUED, queued=NOW)
    fetch = step(store, fetch, tasks.State.STARTING, lease_owner="server-1", lease_expires=LATER)
    fetch = step(store, fetch, tasks.State.STARTING, container="c0ffee")  # no new state
    fetch = step(store, fetch, tasks.State.RUNNING, started=NOW)
    fetch = step(store, fetch, tasks.State.COMPLETE, status=tasks.Status.SUCCESSFUL, exit_code=0)
    build = step(
        store,
        build,
        tasks.State.COMPLETE,
        status=tasks.Status.SKIPPED,
        reason=reasons.Reason(reasons.Kind.DEPENDENCY_NOT_MET, "fetch did not succeed"),
    )
    store.update_run(
        run.evolve(state=runs.State.COMPLETE, status=runs.Status.SUCCESSFUL, ended=LATER),
        run.revision,
    )

    found = listed(store, RUN_1)
    assert [(e.kind, e.task) for e in found] == [
        ("run.created", None),
        ("run.running", None),
        ("task.queued", "fetch"),
        ("task.starting", "fetch"),
        ("task.running", "fetch"),
        ("task.complete", "fetch"),
        ("task.complete", "build"),
        ("run.complete", None),
    ]
    assert [e.id for e in found] == sorted({e.id for e in found})
    assert found[0].data == {
        "state": "pending",
        "status": "unknown",
        "reason": None,
        "previous_state": None,
        "version": 1,
        "trigger": "manual",
    }
    assert (found[4].namespace, found[4].pipeline, found[4].run, found[4].attempt) == (
        "default",
        "hello",
        1,
        1,
    )
    assert found[5].data == {
        "state": "complete",
        "status": "successful",
        "reason": None,
        "previous_state": "running",
    }
    assert found[6].data["reason"] == {
        "kind": "dependency_not_met",
        "description": "fetch did not succeed",
    }
    assert found[6].data["previous_state"] == "waiting"


def test_a_losing_compare_and_set_writes_no_event(store: ports.Store, make_run: MakeRun) -> None:
    run, (fetch, _) = make_run()
    store.update_run(run.evolve(state=runs.State.RUNNING), run.revision)
    store.update_execution(fetch.evolve(state=tasks.State.QUEUED), fetch.revision)
    pipeline = store.get_pipeline("default", "hello")
    store.update_pipeline(dataclasses.replace(pipeline, live_version=1), pipeline.revision)
    before = listed(store)

    with pytest.raises(errors.Conflict):
        store.update_run(run.evolve(state=runs.State.COMPLETE), run.revision)
    with pytest.raises(errors.Conflict):
        store.update_execution(fetch.evolve(state=tasks.State.COMPLETE), fetch.revision)
    with pytest.raises(errors.Conflict):
        store.update_pipeline(dataclasses.replace(pipeline, live_version=None), pipeline.revision)

    assert listed(store) == before


def test_an_update_that_changes_neither_state_nor_status_writes_no_event(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, _) = make_run()
    before = listed(store)

    store.update_run(run.evolve(reason=FAILED, cancel_requested=True), run.revision)
    fetch = store.update_execution(fetch.evolve(reason=FAILED), fetch.revision)
    store.update_execution(fetch.evolve(lease_owner="server-2", lease_expires=LATER), 2)

    assert listed(store) == before


def test_a_new_status_in_the_same_state_writes_an_event(
    store: ports.Store, make_run: MakeRun
) -> None:
    _, (fetch, _) = make_run()
    fetch = step(store, fetch, tasks.State.COMPLETE, status=tasks.Status.FAILED)
    step(store, fetch, tasks.State.COMPLETE, status=tasks.Status.LOST)

    found = listed(store, events.Filter(kinds=("task.*",)))
    assert [(e.kind, e.data["status"], e.data["previous_state"]) for e in found] == [
        ("task.complete", "failed", "waiting"),
        ("task.complete", "lost", "complete"),
    ]


def test_namespaces_versions_and_deployments_are_recorded(store: ports.Store) -> None:
    store.create_namespace(namespaces.Namespace("team-a", "", NOW))
    cfg = config()
    version = store.create_version("team-a", cfg, "sha256:one", NOW)
    pipeline = store.get_pipeline("team-a", "hello")
    live = store.update_pipeline(dataclasses.replace(pipeline, live_version=1), pipeline.revision)
    store.update_pipeline(dataclasses.replace(live, description="only words"), live.revision)

    found = listed(store)
    assert [(e.kind, e.namespace, e.pipeline, e.run) for e in found] == [
        ("namespace.created", "team-a", None, None),
        ("version.created", "team-a", "hello", None),
        ("pipeline.deployed", "team-a", "hello", None),
    ]
    assert found[1].data == {"version": version.version, "digest": "sha256:one"}
    assert found[2].data == {"from": None, "to": 1}


def test_failed_writes_write_no_event(store: ports.Store, make_run: MakeRun) -> None:
    run, execs = make_run()
    before = listed(store)

    with pytest.raises(errors.AlreadyExists):
        store.create_namespace(namespaces.Namespace("default", "", NOW))
    with pytest.raises(errors.NotFound):
        store.create_run(run.evolve(version=9), execs)
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.update_run(run.evolve(state=runs.State.RUNNING, started=NOW.replace(tzinfo=None)), 1)
    with pytest.raises(errors.NotFound):
        store.update_execution(execs[0].evolve(state=tasks.State.QUEUED, attempt=5), 1)

    assert listed(store) == before


def test_event_times_are_aware_in_utc_and_ordered(store: ports.Store, make_run: MakeRun) -> None:
    make_run()
    found = listed(store)
    assert all(e.time.utcoffset() == datetime.timedelta(0) for e in found)
    assert [e.time for e in found] == sorted(e.time for e in found)


def test_event_ids_increase_and_are_never_reused_after_deletion(
    store: ports.Store, make_run: MakeRun
) -> None:
    make_run()
    make_run()
    first = [e.id for e in listed(store)]
    assert first == list(range(first[0], first[0] + len(first)))

    far_future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert store.delete_events(far_future) == len(first)
    assert listed(store) == []
    make_run()

    assert [e.id for e in listed(store)] == [first[-1] + 1]


def test_delete_events_removes_only_events_recorded_before_the_time(
    store: ports.Store, make_run: MakeRun
) -> None:
    make_run()
    old = listed(store)
    time.sleep(0.01)
    cut = datetime.datetime.now(datetime.UTC)
    time.sleep(0.01)
    make_run()
    new = listed(store)[len(old) :]

    assert store.delete_events(cut.astimezone(datetime.timezone(datetime.timedelta(hours=2))))
    assert listed(store) == new
    assert store.delete_events(cut) == 0


def test_list_events_filters_by_kind_family_namespace_pipeline_and_run(
    store: ports.Store, make_run: MakeRun
) -> None:
    store.create_namespace(namespaces.Namespace("team-a", "", NOW))
    register(store, "other", namespace="team-a")
    run, _ = make_run()  # default/hello#1
    make_run()  # default/hello#2
    make_run("other")  # default/other#1
    store.update_run(run.evolve(state=runs.State.RUNNING), run.revision)

    def subjects(selected: events.Filter) -> list[tuple[str, str | None, str | None, int | None]]:
        return [(e.kind, e.namespace, e.pipeline, e.run) for e in listed(store, selected)]

    assert subjects(events.Filter(kinds=("run.running", "namespace.created"))) == [
        ("namespace.created", "team-a", None, None),
        ("run.running", "default", "hello", 1),
    ]
    assert subjects(events.Filter(kinds=("run.*",), pipeline="hello")) == [
        ("run.created", "default", "hello", 1),
        ("run.created", "default", "hello", 2),
        ("run.running", "default", "hello", 1),
    ]
    assert subjects(events.Filter(namespace="team-a")) == [
        ("namespace.created", "team-a", None, None),
        ("version.created", "team-a", "other", None),
    ]
    assert subjects(events.Filter(pipeline="other", run=1)) == [
        ("run.created", "default", "other", 1)
    ]
    assert subjects(events.Filter(kinds=("task.*",))) == []
    every = listed(store)
    assert [e for e in every if events.Filter(kinds=("version.*",)).matches(e)] == listed(
        store, events.Filter(kinds=("version.*",))
    )


def test_list_events_pages_by_id_after_a_cursor(store: ports.Store, make_run: MakeRun) -> None:
    for _ in range(5):
        make_run()
    selected = events.Filter(kinds=("run.created",))
    pages: list[list[int | None]] = []
    after: int | None = None
    while page := store.list_events(selected, after, 2):
        pages.append([e.run for e in page])
        after = page[-1].id
    assert pages == [[1, 2], [3, 4], [5]]
    assert store.list_events(selected, None, 0) == []


def test_events_read_back_are_copies(store: ports.Store, make_run: MakeRun) -> None:
    make_run()
    first = listed(store)[-1]
    assert isinstance(first.data, dict)
    first.data["state"] = "changed"
    assert listed(store)[-1].data["state"] == "pending"


def test_adding_attempts_records_one_task_retried_each_after_the_run_reopening(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, build) = make_run(state=runs.State.RUNNING)
    fetch = step(store, fetch, tasks.State.COMPLETE, status=tasks.Status.FAILED, reason=FAILED)
    build = step(store, build, tasks.State.COMPLETE, status=tasks.Status.SKIPPED)
    run = store.update_run(
        run.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED), run.revision
    )
    last = listed(store)[-1].id

    store.add_attempts(
        run.evolve(state=runs.State.PENDING, status=runs.Status.UNKNOWN),
        run.revision,
        [fetch.next_attempt(LATER), build.next_attempt(LATER)],
    )

    found = store.list_events(EVERYTHING, last, 100)
    assert [(e.kind, e.run, e.task, e.attempt) for e in found] == [
        ("run.pending", 1, None, None),
        ("task.retried", 1, "fetch", 2),
        ("task.retried", 1, "build", 2),
    ]
    assert found[0].data == {
        "state": "pending",
        "status": "unknown",
        "reason": None,
        "previous_state": "complete",
    }
    assert found[1].data == {
        "state": "waiting",
        "status": "unknown",
        "reason": None,
        "previous_state": None,
    }
    assert (found[1].namespace, found[1].pipeline) == ("default", "hello")


def test_an_automatic_retry_records_only_task_retried_with_its_reason(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, _) = make_run(state=runs.State.RUNNING)
    fetch = step(store, fetch, tasks.State.COMPLETE, status=tasks.Status.FAILED, reason=FAILED)
    last = listed(store)[-1].id
    why = reasons.Reason(reasons.Kind.RETRY_BACKOFF, "attempt 2 of 3 starts 1s after attempt 1")

    store.add_attempts(run, run.revision, [fetch.next_attempt(LATER, why)])

    [retried] = store.list_events(EVERYTHING, last, 100)
    assert (retried.kind, retried.task, retried.attempt) == ("task.retried", "fetch", 2)
    assert retried.data["reason"] == {"kind": "retry_backoff", "description": why.description}
    assert kinds(store, events.Filter(kinds=("task.*",))) == ["task.complete", "task.retried"]


def test_adding_attempts_that_fails_records_no_event(store: ports.Store, make_run: MakeRun) -> None:
    run, (fetch, _) = make_run(state=runs.State.RUNNING)
    fetch = step(store, fetch, tasks.State.COMPLETE, status=tasks.Status.FAILED, reason=FAILED)
    run, _ = store.add_attempts(run, run.revision, [fetch.next_attempt(LATER)])
    before = listed(store)
    finished = run.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED)

    with pytest.raises(errors.Conflict):
        store.add_attempts(
            finished, run.revision - 1, [fetch.next_attempt(LATER).evolve(attempt=3)]
        )
    with pytest.raises(errors.AlreadyExists):
        store.add_attempts(finished, run.revision, [fetch.next_attempt(LATER)])

    assert listed(store) == before
    assert store.get_run("default", "hello", 1) == run
