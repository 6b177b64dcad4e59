"""The event use cases: filters checked before reading, pages by cursor, reading after an id."""

from __future__ import annotations

import datetime

import pytest

from hostler import testing
from hostler.core import errors, events, namespaces
from hostler.services import events as event_service
from hostler.services import pages
from hostler.services.context import Context

NOW = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def ctx() -> Context:
    """Return a context over a store holding five namespace.created events (ids 1 to 5)."""
    store = testing.MemoryStore()
    for name in "abcde":
        store.create_namespace(namespaces.Namespace(name, "", NOW))
    return Context(store=store, logs=testing.MemoryLogStore())


def test_select_builds_the_filter_and_refuses_unknown_kinds() -> None:
    assert event_service.select(["run.*"], "default", "hello", 3) == events.Filter(
        ("run.*",), "default", "hello", 3
    )
    with pytest.raises(errors.InvalidArgument) as caught:
        event_service.select(["run.*", "bogus"])
    assert caught.value.field == "kind"


def test_list_pages_oldest_first_with_opaque_cursors(ctx: Context) -> None:
    first = event_service.list_(ctx, events.Filter(), None, 2)
    second = event_service.list_(ctx, events.Filter(), first.next_cursor, 2)
    third = event_service.list_(ctx, events.Filter(), second.next_cursor, 2)
    assert [[e.namespace for e in p.items] for p in (first, second, third)] == [
        ["a", "b"],
        ["c", "d"],
        ["e"],
    ]
    assert first.next_cursor == pages.encode(2)
    assert third.next_cursor is None


def test_after_reads_the_events_after_an_id_within_the_limit(ctx: Context) -> None:
    assert [e.id for e in event_service.after(ctx, events.Filter(), 0, 2)] == [1, 2]
    assert [e.id for e in event_service.after(ctx, events.Filter(), 3, 500)] == [4, 5]
    assert event_service.after(ctx, events.Filter(), 5, 500) == []


def test_after_refuses_a_negative_id_and_a_limit_out_of_range(ctx: Context) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        event_service.after(ctx, events.Filter(), -1, 10)
    assert caught.value.field == "after"
    with pytest.raises(errors.InvalidArgument) as caught:
        event_service.after(ctx, events.Filter(), 0, pages.MAX_LIMIT + 1)
    assert caught.value.field == "limit"
