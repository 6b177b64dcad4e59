"""Named locks in every Store: one holder at a time until released or expired, across processes."""

from __future__ import annotations

import datetime
import multiprocessing
import queue
from typing import Any

import pytest

from hostler.core import errors, ports
from hostler.storage import database
from hostler.storage import store as sql_store

from .conftest import NOW, SQL_ONLY

MINUTE = datetime.timedelta(minutes=1)
ROUNDS = 40


def test_a_free_lock_is_taken_and_refused_to_another_holder(store: ports.Store) -> None:
    assert store.acquire_lock("deploy", "server-1", NOW, NOW + MINUTE) is None
    assert store.acquire_lock("deploy", "server-2", NOW, NOW + MINUTE) == "server-1"
    assert store.acquire_lock("other", "server-2", NOW, NOW + MINUTE) is None


def test_the_holder_takes_its_lock_again_and_extends_it(store: ports.Store) -> None:
    store.acquire_lock("deploy", "server-1", NOW, NOW + MINUTE)
    assert store.acquire_lock("deploy", "server-1", NOW, NOW + 5 * MINUTE) is None
    assert store.acquire_lock("deploy", "server-2", NOW + 2 * MINUTE, NOW + MINUTE) == "server-1"


def test_an_expired_lock_is_taken_over(store: ports.Store) -> None:
    store.acquire_lock("deploy", "server-1", NOW, NOW + MINUTE)
    assert store.acquire_lock("deploy", "server-2", NOW + MINUTE, NOW + 2 * MINUTE) is None
    assert store.acquire_lock("deploy", "server-1", NOW + MINUTE, NOW + 2 * MINUTE) == "server-2"


def test_release_by_the_holder_frees_the_lock(store: ports.Store) -> None:
    store.acquire_lock("deploy", "server-1", NOW, NOW + MINUTE)
    store.release_lock("deploy", "server-1")
    assert store.acquire_lock("deploy", "server-2", NOW, NOW + MINUTE) is None


def test_release_by_another_holder_does_nothing(store: ports.Store) -> None:
    store.acquire_lock("deploy", "server-1", NOW, NOW + MINUTE)
    store.release_lock("deploy", "server-2")
    store.release_lock("never-taken", "server-2")
    assert store.acquire_lock("deploy", "server-2", NOW, NOW + MINUTE) == "server-1"


def test_a_naive_time_is_refused(store: ports.Store) -> None:
    naive = datetime.datetime(2025, 1, 1)
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.acquire_lock("deploy", "server-1", naive, NOW + MINUTE)
    assert store.acquire_lock("deploy", "server-2", NOW, NOW + MINUTE) is None


def contend(url: str, holder: str, barrier: Any, results: Any) -> None:
    """Try for lock ``round-N`` once per round, meeting the other process before each try."""
    store = sql_store.Store(database.connect(url))
    try:
        for n in range(ROUNDS):
            barrier.wait(30)
            try:
                got = store.acquire_lock(f"round-{n}", holder, NOW, NOW + MINUTE)
                results.put((n, holder, "won" if got is None else f"refused by {got}"))
            except Exception as exc:  # reported, so that the test fails with the cause
                results.put((n, holder, f"error: {exc!r}"))
    finally:
        store.close()


@SQL_ONLY
@pytest.mark.timeout(180)
def test_two_processes_contending_for_a_lock_have_one_holder(url: str, store: ports.Store) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results_queue = context.Queue()
    holders = ["server-1", "server-2"]
    processes = [
        context.Process(target=contend, args=(url, holder, barrier, results_queue))
        for holder in holders
    ]
    for process in processes:
        process.start()
    results: list[tuple[int, str, str]] = []
    try:
        for _ in range(2 * ROUNDS):
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
    assert len(results) == 2 * ROUNDS
    for n in range(ROUNDS):
        verdicts = {holder: verdict for m, holder, verdict in results if m == n}
        winners = [holder for holder, verdict in verdicts.items() if verdict == "won"]
        assert len(winners) == 1, (n, verdicts)
        [loser] = [holder for holder in holders if holder not in winners]
        assert verdicts[loser] == f"refused by {winners[0]}"
        assert store.acquire_lock(f"round-{n}", "judge", NOW, NOW + MINUTE) == winners[0]
