"""Housekeeping: events older than the retention are pruned, once at start and then periodically."""

from __future__ import annotations

import datetime
import logging
import time

import pytest

from hostler import testing
from hostler.core import errors, events, namespaces, runs
from hostler.engine import runtokens
from hostler.services import housekeeping, pipelines, tokens
from hostler.services import runs as run_service
from hostler.services.context import Context

DAY = 86400.0


def context(store: testing.MemoryStore, *, days_later: float = 0) -> Context:
    """Return a context whose clock runs ``days_later`` days ahead of the store's."""
    offset = datetime.timedelta(days=days_later)
    return Context(
        store=store,
        logs=testing.MemoryLogStore(),
        clock=lambda: datetime.datetime.now(datetime.UTC) + offset,
    )


def store_with_events(count: int) -> testing.MemoryStore:
    """Return a store holding ``count`` namespace.created events."""
    store = testing.MemoryStore()
    now = datetime.datetime.now(datetime.UTC)
    for n in range(count):
        store.create_namespace(namespaces.Namespace(f"ns-{n}", "", now))
    return store


def remaining(store: testing.MemoryStore) -> int:
    return len(store.list_events(events.Filter(), None, -1))


def test_prune_events_deletes_only_events_older_than_the_retention() -> None:
    store = store_with_events(3)
    assert housekeeping.prune_events(context(store, days_later=0.5), DAY) == 0
    assert remaining(store) == 3
    assert housekeeping.prune_events(context(store, days_later=2), DAY) == 3
    assert remaining(store) == 0


def test_prune_events_keeps_everything_without_a_retention() -> None:
    store = store_with_events(2)
    assert housekeeping.prune_events(context(store, days_later=10_000), None) == 0
    assert remaining(store) == 2


@pytest.mark.timeout(30)
def test_housekeeper_prunes_at_start_and_then_every_interval() -> None:
    store = store_with_events(2)
    keeper = housekeeping.Housekeeper(context(store, days_later=2), retention=DAY, interval=0.05)
    keeper.start()
    try:
        while remaining(store):
            time.sleep(0.01)
        store.create_namespace(
            namespaces.Namespace("late", "", datetime.datetime.now(datetime.UTC))
        )
        while remaining(store):
            time.sleep(0.01)
    finally:
        keeper.stop()
    assert remaining(store) == 0


def test_a_failed_round_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(testing.MemoryStore):
        def delete_events(self, before: datetime.datetime) -> int:
            raise errors.Unavailable("database: locked")

    keeper = housekeeping.Housekeeper(context(Broken()), retention=DAY)
    with caplog.at_level(logging.WARNING, logger=housekeeping.__name__):
        keeper.run_once()
    assert [r.getMessage() for r in caplog.records] == ["event pruning failed"]
    assert caplog.records[0].error == "database: locked"  # type: ignore[attr-defined]


def test_stop_without_start_is_harmless() -> None:
    housekeeping.Housekeeper(context(testing.MemoryStore()), retention=None).stop()


def test_run_tokens_of_ended_runs_are_pruned_and_others_kept() -> None:

    store = testing.MemoryStore()
    ctx = context(store)
    pipelines.up(ctx, "default", {"id": "p", "tasks": [{"id": "t", "image": "x"}]})
    ended, running = run_service.start(ctx, "default", "p"), run_service.start(ctx, "default", "p")
    made = {}
    for run in (ended, running):
        execution = store.list_executions("default", "p", run.id)[0]
        made[run.id], _ = runtokens.issue(store, execution, ctx.clock())
    tokens.create(ctx, "person", ["admin"])
    current = store.get_run("default", "p", ended.id)
    store.update_run(
        current.evolve(state=runs.State.COMPLETE, status=runs.Status.FAILED), current.revision
    )
    assert housekeeping.prune_run_tokens(ctx) == 1
    left = {t.name for t in store.list_tokens(None, 10)}
    assert left == {"person", made[running.id].name}
