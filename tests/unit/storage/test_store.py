"""Every Store, method by method: the SQL store on a migrated SQLite file and the MemoryStore."""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
import sqlite3

import pytest

from hostler.core import errors, namespaces, pipelines, ports, reasons, runs, tasks
from hostler.storage import database
from hostler.storage import store as sql_store

from .conftest import NOW, MakeRun, config, register

LATER = NOW + datetime.timedelta(minutes=5)
CET = datetime.timezone(datetime.timedelta(hours=1))


def test_store_implements_the_port(store: ports.Store) -> None:
    port: ports.Store = store
    assert port is store


def test_the_installation_has_a_name_fixed_for_the_life_of_the_store(store: ports.Store) -> None:
    name = store.installation()
    assert len(name) == 12
    assert store.installation() == name


# namespaces -------------------------------------------------------------------------------


def test_default_namespace_exists_from_the_start(store: ports.Store) -> None:
    default = store.get_namespace("default")
    assert default.description == "The default namespace"
    assert default.created.tzinfo == datetime.UTC


def test_create_namespace_then_get_returns_it(store: ports.Store) -> None:
    created = store.create_namespace(namespaces.Namespace("team-a", "Team A", NOW))
    assert created == namespaces.Namespace("team-a", "Team A", NOW)
    assert store.get_namespace("team-a") == created


def test_create_namespace_twice_is_already_exists(store: ports.Store) -> None:
    store.create_namespace(namespaces.Namespace("team-a", "", NOW))
    with pytest.raises(errors.AlreadyExists, match=r"^namespace 'team-a': already exists$"):
        store.create_namespace(namespaces.Namespace("team-a", "again", NOW))


def test_get_missing_namespace_names_it(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$") as caught:
        store.get_namespace("x")
    assert caught.value.field == "namespace"


def test_list_namespaces_pages_by_name(store: ports.Store) -> None:
    for name in ["e", "c", "a", "d", "b"]:
        store.create_namespace(namespaces.Namespace(name, "", NOW))
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page = [n.name for n in store.list_namespaces(after, 2)]
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert pages == [["a", "b"], ["c", "d"], ["default", "e"]]


def test_timestamps_come_back_aware_in_utc(store: ports.Store) -> None:
    store.create_namespace(namespaces.Namespace("tz", "", NOW.astimezone(CET)))
    created = store.get_namespace("tz").created
    assert created == NOW
    assert created.utcoffset() == datetime.timedelta(0)


def test_naive_timestamp_is_refused(store: ports.Store) -> None:
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.create_namespace(namespaces.Namespace("naive", "", datetime.datetime(2025, 1, 1)))


# pipelines and versions -------------------------------------------------------------------


def test_create_version_creates_the_pipeline_without_a_live_version(
    store: ports.Store,
) -> None:
    cfg = config(description="Says hello")
    version = store.create_version("default", cfg, pipelines.digest(cfg), NOW)
    assert (version.version, version.pipeline, version.config) == (1, "hello", cfg)
    pipeline = store.get_pipeline("default", "hello")
    assert pipeline == pipelines.Pipeline("default", "hello", "Says hello", None, NOW, NOW, 1)


def test_create_version_numbers_versions_from_one(store: ports.Store) -> None:
    for n, image in enumerate(["alpine:1", "alpine:2", "alpine:3"], start=1):
        cfg = config(image=image)
        assert store.create_version("default", cfg, pipelines.digest(cfg), NOW).version == n


def test_create_version_in_missing_namespace_names_it(store: ports.Store) -> None:
    cfg = config()
    with pytest.raises(errors.NotFound, match=r"^namespace 'nope': not found$"):
        store.create_version("nope", cfg, pipelines.digest(cfg), NOW)


def test_version_config_reads_back_equal_with_the_same_digest(store: ports.Store) -> None:
    cfg = config(command=["sh", "-c", "echo héllo"], env={"A": "1"}, timeout="90s")
    store.create_version("default", cfg, pipelines.digest(cfg), NOW)
    stored = store.get_version("default", "hello", 1)
    assert stored.config == cfg
    assert pipelines.digest(stored.config) == stored.digest == pipelines.digest(cfg)


def test_find_version_by_digest(store: ports.Store) -> None:
    cfg = config()
    register(store)
    found = store.find_version("default", "hello", pipelines.digest(cfg))
    assert found is not None
    assert found.version == 1
    assert store.find_version("default", "hello", "sha256:other") is None
    assert store.find_version("default", "other", pipelines.digest(cfg)) is None


def test_get_version_missing_names_the_missing_parent(store: ports.Store) -> None:
    register(store)
    with pytest.raises(errors.NotFound, match=r"^version 7 of pipeline 'default/hello'"):
        store.get_version("default", "hello", 7)
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.get_version("default", "x", 1)
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.get_version("x", "hello", 1)


def test_list_versions_pages_newest_first(store: ports.Store) -> None:
    for image in ["a", "b", "c", "d", "e", "f"]:
        cfg = config(image=image)
        store.create_version("default", cfg, pipelines.digest(cfg), NOW)
    first = store.list_versions("default", "hello", None, 2)
    second = store.list_versions("default", "hello", first[-1].version, 2)
    third = store.list_versions("default", "hello", second[-1].version, 2)
    assert [[v.version for v in page] for page in (first, second, third)] == [
        [6, 5],
        [4, 3],
        [2, 1],
    ]
    assert store.list_versions("default", "hello", 1, 2) == []


def test_get_pipeline_missing_names_pipeline_then_namespace(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$") as caught:
        store.get_pipeline("default", "x")
    assert caught.value.field == "pipeline"
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$") as caught:
        store.get_pipeline("x", "hello")
    assert caught.value.field == "namespace"


def test_list_pipelines_pages_by_id(store: ports.Store) -> None:
    for name in ["p5", "p3", "p1", "p6", "p2", "p4"]:
        register(store, name)
    pages = []
    after = None
    for _ in range(3):
        page = store.list_pipelines("default", after, 2)
        pages.append([p.id for p in page])
        after = page[-1].id
    assert pages == [["p1", "p2"], ["p3", "p4"], ["p5", "p6"]]
    assert store.list_pipelines("default", after, 2) == []


def test_list_pipelines_of_missing_namespace_names_it(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.list_pipelines("x", None, 10)


def test_update_pipeline_is_compare_and_set(store: ports.Store) -> None:
    register(store)
    current = store.get_pipeline("default", "hello")
    changed = dataclasses.replace(current, live_version=1, updated=LATER)
    updated = store.update_pipeline(changed, current.revision)
    assert (updated.live_version, updated.updated, updated.revision) == (1, LATER, 2)
    assert store.get_pipeline("default", "hello") == updated
    with pytest.raises(errors.Conflict) as caught:
        store.update_pipeline(changed, current.revision)
    assert caught.value.message == (
        "pipeline 'default/hello': changed by someone else (revision 2, expected 1)"
    )
    assert caught.value.hint == "read it again and retry"


def test_update_missing_pipeline_is_not_found(store: ports.Store) -> None:
    ghost = pipelines.Pipeline("default", "ghost", "", 1, NOW, NOW)
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/ghost': not found$"):
        store.update_pipeline(ghost, 1)


# runs -------------------------------------------------------------------------------------


def test_create_run_gives_increasing_ids_and_stores_executions(
    store: ports.Store, make_run: MakeRun
) -> None:
    ids = [make_run()[0].id for _ in range(3)]
    run, execs = make_run()
    assert [*ids, run.id] == [1, 2, 3, 4]
    assert [(e.run, e.task, e.revision) for e in execs] == [(4, "fetch", 1), (4, "build", 1)]
    assert store.get_run("default", "hello", 4) == run
    assert store.list_executions("default", "hello", 4) == execs
    assert make_run("other")[0].id == 1


def test_create_run_of_missing_version_or_pipeline_names_it(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, _ = make_run()
    with pytest.raises(errors.NotFound, match=r"^version 9 of pipeline 'default/hello'"):
        store.create_run(run.evolve(version=9), [])
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/nope': not found$"):
        store.create_run(run.evolve(pipeline="nope"), [])
    assert [r.id for r in store.list_runs("default", "hello", None, 10)] == [1]


def test_create_run_refuses_the_same_attempt_twice(store: ports.Store, make_run: MakeRun) -> None:
    run, execs = make_run()
    with pytest.raises(errors.InvalidArgument, match="given twice"):
        store.create_run(run, [execs[0], execs[0]])


def test_get_run_missing_names_the_missing_parent(store: ports.Store, make_run: MakeRun) -> None:
    make_run()
    with pytest.raises(errors.NotFound, match=r"^run 'default/hello#9': not found") as caught:
        store.get_run("default", "hello", 9)
    assert caught.value.field == "run"
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.get_run("default", "x", 1)
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.get_run("x", "hello", 1)


def test_list_runs_pages_newest_first_and_filters_by_state(
    store: ports.Store, make_run: MakeRun
) -> None:
    for n in range(6):
        make_run(state=runs.State.RUNNING if n % 2 else runs.State.PENDING)
    first = store.list_runs("default", "hello", None, 2)
    second = store.list_runs("default", "hello", first[-1].id, 2)
    third = store.list_runs("default", "hello", second[-1].id, 2)
    assert [[r.id for r in page] for page in (first, second, third)] == [[6, 5], [4, 3], [2, 1]]
    running = store.list_runs("default", "hello", None, 10, [runs.State.RUNNING])
    assert [r.id for r in running] == [6, 4, 2]
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.list_runs("default", "x", None, 10)


def test_list_active_runs_is_oldest_first_without_complete_ones(
    store: ports.Store, make_run: MakeRun
) -> None:
    make_run("b", created=NOW + datetime.timedelta(seconds=2))
    make_run("a", created=NOW + datetime.timedelta(seconds=3))
    done, _ = make_run("a", created=NOW)
    make_run("c", created=NOW + datetime.timedelta(seconds=1))
    finished = done.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED, ended=LATER)
    store.update_run(finished, done.revision)
    assert [r.pipeline for r in store.list_active_runs(10)] == ["c", "b", "a"]
    assert [r.pipeline for r in store.list_active_runs(1)] == ["c"]


def test_count_runs_counts_one_state(store: ports.Store, make_run: MakeRun) -> None:
    for state in [runs.State.PENDING, runs.State.RUNNING, runs.State.RUNNING]:
        make_run(state=state)
    assert store.count_runs("default", "hello", runs.State.RUNNING) == 2
    assert store.count_runs("default", "hello", runs.State.COMPLETE) == 0
    with pytest.raises(errors.NotFound, match=r"^pipeline 'default/x': not found$"):
        store.count_runs("default", "x", runs.State.RUNNING)


def test_update_run_is_compare_and_set(store: ports.Store, make_run: MakeRun) -> None:
    run, _ = make_run(state=runs.State.RUNNING)
    reason = reasons.Reason(reasons.Kind.CANCELLED, "cancelled by alice")
    cancelled = run.evolve(
        state=runs.State.COMPLETE,
        status=runs.Status.CANCELLED,
        reason=reason,
        ended=LATER.astimezone(CET),
        cancel_requested=True,
    )
    updated = store.update_run(cancelled, run.revision)
    assert updated == cancelled.evolve(revision=2)
    assert store.get_run("default", "hello", run.id) == updated
    with pytest.raises(errors.Conflict) as caught:
        store.update_run(run.evolve(state=runs.State.COMPLETE), run.revision)
    assert caught.value.message == (
        "run 'default/hello#1': changed by someone else (revision 2, expected 1)"
    )
    assert caught.value.hint == "read it again and retry"
    assert store.get_run("default", "hello", run.id) == updated


def test_update_missing_run_is_not_found(store: ports.Store, make_run: MakeRun) -> None:
    run, _ = make_run()
    with pytest.raises(errors.NotFound, match=r"^run 'default/hello#5': not found"):
        store.update_run(run.evolve(id=5), 1)


# task executions --------------------------------------------------------------------------


def test_get_execution_returns_the_latest_attempt_unless_asked(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, execs = make_run()
    retry = execs[1].evolve(run=0, attempt=2)
    _, stored = store.create_run(run, [*execs, retry])
    assert store.get_execution("default", "hello", 2, "build").attempt == 2
    assert store.get_execution("default", "hello", 2, "build", 1) == stored[1]
    assert [(e.task, e.attempt) for e in store.list_executions("default", "hello", 2)] == [
        ("fetch", 1),
        ("build", 1),
        ("build", 2),
    ]


def test_get_execution_missing_names_task_then_run(store: ports.Store, make_run: MakeRun) -> None:
    make_run()
    with pytest.raises(errors.NotFound, match=r"^task 'default/hello#1/nope': not found$") as e:
        store.get_execution("default", "hello", 1, "nope")
    assert e.value.field == "task"
    with pytest.raises(errors.NotFound, match=r"^task 'default/hello#1/fetch' \(attempt 3\)"):
        store.get_execution("default", "hello", 1, "fetch", 3)
    with pytest.raises(errors.NotFound, match=r"^run 'default/hello#2': not found") as e:
        store.get_execution("default", "hello", 2, "fetch")
    assert e.value.field == "run"
    with pytest.raises(errors.NotFound, match=r"^namespace 'x': not found$"):
        store.list_executions("x", "hello", 1)


def test_list_active_executions_is_oldest_first_and_counts_by_state(
    store: ports.Store, make_run: MakeRun
) -> None:
    make_run(created=LATER)
    _, earlier = make_run(created=NOW)
    fetch = earlier[0]
    store.update_execution(
        fetch.evolve(state=tasks.State.COMPLETE, status=tasks.Status.SKIPPED), fetch.revision
    )
    active = store.list_active_executions(10)
    assert [(e.run, e.task) for e in active] == [(2, "build"), (1, "fetch"), (1, "build")]
    assert len(store.list_active_executions(2)) == 2
    assert store.count_executions([tasks.State.WAITING]) == 3
    assert store.count_executions([tasks.State.WAITING, tasks.State.COMPLETE]) == 4
    assert store.count_executions([]) == 0


def test_update_execution_is_compare_and_set(store: ports.Store, make_run: MakeRun) -> None:
    _, execs = make_run()
    fetch = execs[0]
    claimed = fetch.evolve(
        state=tasks.State.STARTING,
        queued=NOW,
        lease_owner="server-1",
        lease_expires=LATER,
        container="c0ffee",
        image_digest="sha256:abc",
        reason=reasons.Reason(reasons.Kind.GLOBAL_LIMIT, "waited for a slot"),
    )
    updated = store.update_execution(claimed, fetch.revision)
    assert updated == claimed.evolve(revision=2)
    assert store.get_execution("default", "hello", 1, "fetch") == updated
    with pytest.raises(errors.Conflict) as caught:
        store.update_execution(fetch.evolve(exit_code=1), fetch.revision)
    assert caught.value.message == (
        "task 'default/hello#1/fetch' (attempt 1): changed by someone else (revision 2, expected 1)"
    )
    with pytest.raises(errors.NotFound, match=r"attempt 4\): not found$"):
        store.update_execution(fetch.evolve(attempt=4), 1)


def test_update_run_keeps_when_its_logs_were_deleted(store: ports.Store, make_run: MakeRun) -> None:
    run, _ = make_run()
    updated = store.update_run(run.evolve(logs_deleted=LATER), run.revision)
    assert updated.logs_deleted == LATER
    assert store.get_run("default", "hello", run.id).logs_deleted == LATER


def test_renew_leases_extends_only_the_owners_held_leases(
    store: ports.Store, make_run: MakeRun
) -> None:
    _, execs = make_run()
    fetch, build = execs[0], execs[1]
    held = store.update_execution(
        fetch.evolve(state=tasks.State.RUNNING, lease_owner="server-1", lease_expires=NOW),
        fetch.revision,
    )
    queued = store.update_execution(
        build.evolve(state=tasks.State.QUEUED, lease_owner="server-1", lease_expires=NOW),
        build.revision,
    )

    assert store.renew_leases("server-1", LATER) == 1
    assert store.renew_leases("server-2", LATER) == 0

    renewed = store.get_execution("default", "hello", 1, "fetch")
    assert renewed == held.evolve(lease_expires=LATER)  # the revision did not move
    assert store.get_execution("default", "hello", 1, "build") == queued


# attempts ---------------------------------------------------------------------------------


def failed_run(store: ports.Store, make_run: MakeRun) -> tuple[runs.Run, list[tasks.Execution]]:
    """Store run 1 complete and failed: ``fetch`` failed, ``build`` skipped because of it."""
    run, (fetch, build) = make_run(state=runs.State.RUNNING)
    fetch = store.update_execution(
        fetch.evolve(state=tasks.State.COMPLETE, status=tasks.Status.FAILED, exit_code=1),
        fetch.revision,
    )
    build = store.update_execution(
        build.evolve(state=tasks.State.COMPLETE, status=tasks.Status.SKIPPED), build.revision
    )
    run = store.update_run(
        run.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED, ended=NOW), run.revision
    )
    return run, [fetch, build]


def reopened(run: runs.Run) -> runs.Run:
    return run.evolve(state=runs.State.RUNNING, status=runs.Status.UNKNOWN, ended=None)


def test_add_attempts_writes_the_run_and_adds_the_attempts_together(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, build) = failed_run(store, make_run)
    retries = [fetch.next_attempt(LATER), build.next_attempt(LATER)]

    stored, added = store.add_attempts(reopened(run), run.revision, retries)

    assert stored == reopened(run).evolve(revision=run.revision + 1)
    assert store.get_run("default", "hello", 1) == stored
    assert added == [r.evolve(run=1, revision=1) for r in retries]
    assert [(e.task, e.attempt, e.state, e.position) for e in added] == [
        ("fetch", 2, tasks.State.WAITING, 0),
        ("build", 2, tasks.State.WAITING, 1),
    ]
    assert store.list_executions("default", "hello", 1) == [fetch, added[0], build, added[1]]
    assert store.get_execution("default", "hello", 1, "build") == added[1]
    assert store.get_execution("default", "hello", 1, "build", 1) == build


def test_add_attempts_to_a_running_run_keeps_its_state(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, _) = make_run(state=runs.State.RUNNING)
    fetch = store.update_execution(
        fetch.evolve(state=tasks.State.COMPLETE, status=tasks.Status.FAILED), fetch.revision
    )
    why = reasons.Reason(reasons.Kind.RETRY_BACKOFF, "attempt 2 of 3 starts 1s after attempt 1")

    stored, [added] = store.add_attempts(run, run.revision, [fetch.next_attempt(LATER, why)])

    assert (stored.state, stored.revision) == (runs.State.RUNNING, run.revision + 1)
    assert (added.attempt, added.reason, added.created) == (2, why, LATER)
    assert store.list_active_executions(10)[-1] == added


def test_add_attempts_with_a_stale_revision_is_a_conflict_and_writes_nothing(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, _) = failed_run(store, make_run)
    before = store.list_executions("default", "hello", 1)

    with pytest.raises(errors.Conflict) as caught:
        store.add_attempts(reopened(run), run.revision - 1, [fetch.next_attempt(LATER)])

    assert caught.value.message == (
        f"run 'default/hello#1': changed by someone else "
        f"(revision {run.revision}, expected {run.revision - 1})"
    )
    assert store.get_run("default", "hello", 1) == run
    assert store.list_executions("default", "hello", 1) == before


def test_add_attempts_refuses_an_attempt_that_exists_and_writes_nothing(
    store: ports.Store, make_run: MakeRun
) -> None:
    run, (fetch, build) = failed_run(store, make_run)
    store.add_attempts(run, run.revision, [fetch.next_attempt(LATER)])
    run = store.get_run("default", "hello", 1)
    before = store.list_executions("default", "hello", 1)

    with pytest.raises(errors.AlreadyExists) as caught:
        store.add_attempts(
            reopened(run), run.revision, [build.next_attempt(LATER), fetch.next_attempt(LATER)]
        )

    assert caught.value.message == "task 'default/hello#1/fetch' (attempt 2): already exists"
    assert caught.value.field == "attempt"
    assert store.get_run("default", "hello", 1) == run
    assert store.list_executions("default", "hello", 1) == before


def test_add_attempts_refuses_the_same_attempt_twice(store: ports.Store, make_run: MakeRun) -> None:
    run, (fetch, _) = failed_run(store, make_run)
    with pytest.raises(errors.InvalidArgument, match="given twice"):
        store.add_attempts(run, run.revision, [fetch.next_attempt(LATER)] * 2)
    assert store.get_run("default", "hello", 1) == run


def test_add_attempts_to_a_missing_run_is_not_found(store: ports.Store, make_run: MakeRun) -> None:
    run, (fetch, _) = failed_run(store, make_run)
    with pytest.raises(errors.NotFound, match=r"^run 'default/hello#5': not found"):
        store.add_attempts(run.evolve(id=5), 1, [fetch.next_attempt(LATER).evolve(run=5)])
    assert len(store.list_executions("default", "hello", 1)) == 2


# the database itself ----------------------------------------------------------------------


def test_unreachable_database_is_unavailable(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    broken = sql_store.Store(database.connect(f"sqlite:///{tmp_path / 'a-directory.db'}"))
    try:
        with pytest.raises(errors.Unavailable, match=r"^database: unable to open"):
            broken.get_namespace("default")
    finally:
        broken.close()


def test_locked_database_is_unavailable_after_the_busy_timeout(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.migrate(url)
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    locked = sql_store.Store(database.connect(url))
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert locked.get_namespace("default").name == "default"
        with pytest.raises(errors.Unavailable, match="database is locked"):
            locked.create_namespace(namespaces.Namespace("late", "", NOW))
    finally:
        holder.close()
        locked.close()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(url: str) -> None:
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ["journal_mode", "synchronous", "foreign_keys", "busy_timeout"]
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": database.BUSY_TIMEOUT_MS,
    }


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument, match="in-memory"):
        database.connect("sqlite://")
