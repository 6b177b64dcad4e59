"""Racing writers: cancel against complete on the same run, from two threads and two processes.

Both writers read the same revision, meet at a barrier, then write. Exactly one must win; the other
must get Conflict; the stored run must be the winner's outcome, never a mix of the two. Threads
race on every store; processes on the SQL store only, since a MemoryStore lives in one process.
"""

from __future__ import annotations

import datetime
import multiprocessing
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest

from hostler.core import errors, events, ports, reasons, runs
from hostler.storage import database
from hostler.storage import store as sql_store

from .conftest import NOW, SQL_ONLY, MakeRun

CANCELLED_AT = NOW + datetime.timedelta(minutes=1)
SUCCEEDED_AT = NOW + datetime.timedelta(minutes=2)
EVENTS = (runs.Event.CANCEL, runs.Event.SUCCEED)
THREAD_ROUNDS = 200
PROCESS_ROUNDS = 60

Result = tuple[int, str, str]
"""(run id, event, "won" | "conflict" | "error: ...")."""


def outcome(run: runs.Run, event: runs.Event) -> runs.Run:
    """Return ``run`` after ``event``, as the engine would compute it."""
    state, status = runs.MACHINE.apply(run.state, event)
    if event is runs.Event.CANCEL:
        return run.evolve(
            state=state,
            status=status,
            reason=reasons.Reason(reasons.Kind.CANCELLED, "cancelled by alice"),
            ended=CANCELLED_AT,
            cancel_requested=True,
        )
    return run.evolve(state=state, status=status, ended=SUCCEEDED_AT)


def race(
    store: ports.Store,
    event: runs.Event,
    run_ids: list[int],
    meet: Callable[[], Any],
    report: Callable[[Result], None],
) -> None:
    """Apply ``event`` to each run in turn, meeting the other writer between read and write."""
    for run_id in run_ids:
        try:
            run = store.get_run("default", "hello", run_id)
            meet()
            store.update_run(outcome(run, event), run.revision)
            report((run_id, event.value, "won"))
        except errors.Conflict:
            report((run_id, event.value, "conflict"))
        except Exception as exc:  # reported, so that the test fails with the cause
            report((run_id, event.value, f"error: {exc!r}"))


def race_in_process(
    url: str, event: runs.Event, run_ids: list[int], barrier: Any, results: Any
) -> None:
    """Run ``race`` in a child process, with an Engine of its own."""
    store = sql_store.Store(database.connect(url))
    try:
        race(store, event, run_ids, lambda: barrier.wait(30), results.put)
    finally:
        store.close()


def check(store: ports.Store, run_ids: list[int], results: list[Result]) -> None:
    """Assert one winner and one Conflict per run, that the stored run is the winner's, and that
    exactly one event recorded the winner's change."""
    assert not [r for r in results if r[2].startswith("error")], results
    assert len(results) == 2 * len(run_ids)
    winners: dict[int, runs.Event] = {}
    for run_id, event, verdict in results:
        if verdict == "won":
            assert run_id not in winners, f"run {run_id}: both writers won"
            winners[run_id] = runs.Event(event)
    assert sorted(winners) == run_ids
    for run_id, event in winners.items():
        stored = store.get_run("default", "hello", run_id)
        before = stored.evolve(
            state=runs.State.RUNNING,
            status=runs.Status.UNKNOWN,
            reason=None,
            ended=None,
            cancel_requested=False,
            revision=1,
        )
        assert stored == outcome(before, event).evolve(revision=2)
    completed = store.list_events(events.Filter(kinds=("run.*",), pipeline="hello"), None, -1)
    changes = [e for e in completed if e.kind != events.RUN_CREATED]
    assert sorted(e.run for e in changes if e.run is not None) == run_ids
    assert {e.run: e.data["status"] for e in changes} == {
        run_id: runs.MACHINE.apply(runs.State.RUNNING, event)[1].value
        for run_id, event in winners.items()
    }


def start_runs(make_run: MakeRun, count: int) -> list[int]:
    """Store ``count`` running runs and return their ids."""
    return [make_run(state=runs.State.RUNNING)[0].id for _ in range(count)]


def test_two_threads_racing_cancel_and_complete_have_one_winner(
    store: ports.Store, make_run: MakeRun
) -> None:
    run_ids = start_runs(make_run, THREAD_ROUNDS)
    barrier = threading.Barrier(2)
    results: list[Result] = []
    threads = [
        threading.Thread(
            target=race,
            args=(store, event, run_ids, lambda: barrier.wait(30), results.append),
        )
        for event in EVENTS
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    check(store, run_ids, results)


@SQL_ONLY
@pytest.mark.timeout(180)
def test_two_processes_racing_cancel_and_complete_have_one_winner(
    url: str, store: ports.Store, make_run: MakeRun
) -> None:
    run_ids = start_runs(make_run, PROCESS_ROUNDS)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results_queue = context.Queue()
    processes = [
        context.Process(target=race_in_process, args=(url, event, run_ids, barrier, results_queue))
        for event in EVENTS
    ]
    for process in processes:
        process.start()
    results: list[Result] = []
    try:
        for _ in range(2 * len(run_ids)):
            results.append(results_queue.get(timeout=120))
    except queue.Empty:
        pass
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join()
        results_queue.close()
        results_queue.join_thread()
    assert [p.exitcode for p in processes] == [0, 0]
    check(store, run_ids, results)


def test_concurrent_create_run_gives_every_run_its_own_id(
    store: ports.Store, make_run: MakeRun
) -> None:
    template, execs = make_run()
    ids: list[int] = []
    failures: list[BaseException] = []

    def create() -> None:
        for _ in range(25):
            try:
                ids.append(store.create_run(template, execs)[0].id)
            except Exception as exc:
                failures.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(ids) == list(range(2, 102))
