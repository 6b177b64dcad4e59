"""What every Store's writes keep and change: fixed fields, failed writes, and snapshot copies."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from hostler.core import errors, pipelines, ports, reasons, runs, tasks

from .conftest import NOW, MakeRun, config, register

LATER = NOW + datetime.timedelta(minutes=5)
NAIVE = datetime.datetime(2025, 1, 1)


def test_update_pipeline_writes_only_description_live_version_and_update_time(
    store: ports.Store,
) -> None:
    register(store)
    current = store.get_pipeline("default", "hello")
    changed = dataclasses.replace(
        current, description="new", live_version=1, created=LATER, updated=LATER, revision=99
    )
    updated = store.update_pipeline(changed, current.revision)
    assert updated == dataclasses.replace(
        current, description="new", live_version=1, updated=LATER, revision=2
    )


def test_update_run_keeps_its_version_variables_trigger_and_creation(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, _ = make_run()
    changed = run.evolve(
        state=runs.State.RUNNING,
        started=LATER,
        version=7,
        variables={"OTHER": "x"},
        trigger="cron",
        created=LATER,
        revision=42,
    )
    updated = store.update_run(changed, run.revision)
    assert updated == run.evolve(state=runs.State.RUNNING, started=LATER, revision=2)
    assert store.get_run("default", "hello", run.id) == updated


def test_update_execution_keeps_its_position_and_creation(
    store: ports.Store, make_run: MakeRun
) -> None:
    _, execs = make_run()
    build = execs[1]
    changed = build.evolve(state=tasks.State.QUEUED, queued=LATER, position=9, created=LATER)
    updated = store.update_execution(changed, build.revision)
    assert updated == build.evolve(state=tasks.State.QUEUED, queued=LATER, revision=2)


def test_update_of_a_run_in_a_missing_pipeline_names_the_pipeline(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, execs = make_run()
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.update_run(run.evolve(pipeline="x"), run.revision)
    with pytest.raises(errors.NotFound, match=r"^run 'default/hello#3': not found") as caught:
        store.update_execution(execs[0].evolve(run=3), 1)
    assert caught.value.field == "run"


def test_a_conflicting_write_changes_nothing(store: ports.Store, make_run: MakeRun) -> None:
    run, _ = make_run()
    store.update_run(run.evolve(state=runs.State.RUNNING), run.revision)
    with pytest.raises(errors.Conflict):
        store.update_run(run.evolve(cancel_requested=True), run.revision)
    assert store.get_run("default", "hello", run.id).cancel_requested is False


def test_create_version_with_a_digest_stored_already_is_a_conflict(store: ports.Store) -> None:
    cfg = config()
    register(store)
    with pytest.raises(errors.Conflict) as caught:
        store.create_version("default", cfg, pipelines.digest(cfg), LATER)
    assert caught.value.message == (
        f"pipeline 'default/hello': a version with digest '{pipelines.digest(cfg)}' "
        "was stored at the same time"
    )
    assert [v.version for v in store.list_versions("default", "hello", None, 10)] == [1]


def test_versions_are_numbered_per_pipeline(store: ports.Store) -> None:
    assert [register(store, "a"), register(store, "b")] == [1, 1]
    other = config("a", description="changed")
    assert store.create_version("default", other, pipelines.digest(other), NOW).version == 2


def test_find_version_in_a_missing_namespace_is_none(store: ports.Store) -> None:
    register(store)
    assert store.find_version("x", "hello", pipelines.digest(config())) is None


def test_a_failed_create_run_stores_nothing_and_uses_no_run_id(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, execs = make_run()
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.create_run(run, [execs[0], execs[1].evolve(created=NAIVE)])
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.create_run(run.evolve(started=NAIVE), execs)
    assert [r.id for r in store.list_runs("default", "hello", None, 10)] == [1]
    assert make_run()[0].id == 2


def test_create_run_refuses_tasks_of_another_pipeline(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, execs = make_run()
    with pytest.raises(errors.InvalidArgument, match="belongs to pipeline 'default/other'") as e:
        store.create_run(run, [execs[0].evolve(pipeline="other")])
    assert e.value.field == "task"


def test_a_run_without_tasks_lists_none_and_counts(store: ports.Store, make_run: MakeRun) -> None:
    run, _ = make_run()
    empty, stored = store.create_run(run, [])
    assert stored == []
    assert store.list_executions("default", "hello", empty.id) == []
    assert store.count_runs("default", "hello", runs.State.PENDING) == 2
    assert store.count_runs("default", "hello", runs.State.RUNNING) == 0


def test_naive_times_in_updates_are_refused_and_change_nothing(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, execs = make_run()
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.update_run(run.evolve(ended=NAIVE), run.revision)
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.update_execution(execs[0].evolve(lease_expires=NAIVE), execs[0].revision)
    pipeline = store.get_pipeline("default", "hello")
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.update_pipeline(dataclasses.replace(pipeline, updated=NAIVE), pipeline.revision)
    assert store.get_run("default", "hello", run.id) == run
    assert store.list_executions("default", "hello", run.id) == execs
    assert store.get_pipeline("default", "hello") == pipeline


def test_list_runs_pages_through_one_state_with_after(
    store: ports.Store, make_run: MakeRun
) -> None:
    for n in range(6):
        make_run(state=runs.State.RUNNING if n % 2 else runs.State.PENDING)
    running = [runs.State.RUNNING]
    first = store.list_runs("default", "hello", None, 2, running)
    rest = store.list_runs("default", "hello", first[-1].id, 2, running)
    assert [[r.id for r in page] for page in (first, rest)] == [[6, 4], [2]]
    assert store.list_runs("default", "hello", None, 0) == []


def test_runs_and_versions_read_back_are_copies(store: ports.Store, make_run: MakeRun) -> None:
    run, _ = make_run()
    run.variables["GREETING"] = "changed"
    store.get_run("default", "hello", run.id).variables["GREETING"] = "changed again"
    for listed in store.list_runs("default", "hello", None, 10):
        listed.variables.clear()
    assert store.get_run("default", "hello", run.id).variables == {"GREETING": "hi"}
    version = store.get_version("default", "hello", 1)
    version.config.tasks[1].env["LEAK"] = "yes"
    version.config.tasks.clear()
    assert store.get_version("default", "hello", 1).config == config()


def test_a_stored_reason_and_times_read_back_equal(store: ports.Store, make_run: MakeRun) -> None:
    _, execs = make_run()
    reason = reasons.Reason(reasons.Kind.EXIT_CODE, "")
    cet = datetime.timezone(datetime.timedelta(hours=1))
    done = execs[0].evolve(
        state=tasks.State.COMPLETE,
        status=tasks.Status.FAILED,
        reason=reason,
        started=NOW.astimezone(cet),
        ended=LATER,
        exit_code=3,
    )
    stored = store.update_execution(done, execs[0].revision)
    assert stored == done.evolve(revision=2)
    assert stored.started is not None and stored.started.utcoffset() == datetime.timedelta(0)
    assert store.get_execution("default", "hello", 1, "fetch") == stored
