"""Objects in every Store: a pipeline's or one run's, put whole by key (replacing, and evicting
the pipeline's oldest beyond a count), found, listed by key, deleted, and expired with old runs;
each change recorded by its event."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from hostler.core import errors, events, namespaces, objects, ports
from hostler.storage import database, tables

from .conftest import NOW, SQL_ONLY, MakeRun, register

MINUTE = datetime.timedelta(minutes=1)
CET = datetime.timezone(datetime.timedelta(hours=1))
DIGEST = "sha256:" + "0" * 64
OTHER_DIGEST = "sha256:" + "f" * 64
OBJECT_EVENTS = events.Filter(kinds=("object.*",))


def obj(
    key: str = "data",
    run: int | None = None,
    pipeline: str = "hello",
    namespace: str = "default",
    **changes: Any,
) -> objects.Object:
    """Return an object not yet stored: of pipeline ``default/hello`` unless told otherwise."""
    made = objects.Object(namespace, pipeline, run, key, DIGEST, 4, NOW, "alice")
    return dataclasses.replace(made, **changes)


@pytest.fixture
def hello(store: ports.Store) -> ports.Store:
    """Return the store with pipeline ``default/hello`` registered."""
    register(store)
    return store


@pytest.fixture
def two_runs(hello: ports.Store, make_run: MakeRun) -> ports.Store:
    """Return the store with runs 1 and 2 of ``default/hello``."""
    make_run()
    make_run()
    return hello


def keys(
    store: ports.Store,
    run: int | None = None,
    after: str | None = None,
    limit: int = 100,
    pipeline: str = "hello",
    namespace: str = "default",
) -> list[str]:
    """Return the keys of the objects listed in a place, in the order listed."""
    return [o.key for o in store.list_objects(namespace, pipeline, run, after, limit)]


def object_events(store: ports.Store) -> list[tuple[str, str | None, int | None, str]]:
    """Return the kind, pipeline, run and key of every object event, in order."""
    return [
        (e.kind, e.pipeline, e.run, str(e.data["key"]))
        for e in store.list_events(OBJECT_EVENTS, None, 1000)
    ]


# put and get -------------------------------------------------------------------------------


def test_put_stores_a_new_pipeline_object_and_get_finds_it(hello: ports.Store) -> None:
    made = obj()
    assert hello.put_object(made) == (None, [])
    found = hello.get_object("default", "hello", None, "data")
    assert found == made
    assert found.scope is objects.Scope.PIPELINE


def test_put_stores_a_run_object_and_get_finds_it(two_runs: ports.Store) -> None:
    made = obj("report.txt", run=2)
    assert two_runs.put_object(made) == (None, [])
    found = two_runs.get_object("default", "hello", 2, "report.txt")
    assert found == made
    assert found.scope is objects.Scope.RUN


def test_put_replaces_the_object_of_its_key_and_returns_the_one_replaced(
    hello: ports.Store,
) -> None:
    first = obj()
    second = obj(digest=OTHER_DIGEST, size=9, created=NOW + MINUTE, created_by="bob")
    hello.put_object(first)
    assert hello.put_object(second) == (first, [])
    assert hello.get_object("default", "hello", None, "data") == second
    assert keys(hello) == ["data"]


def test_a_size_beyond_32_bits_comes_back_whole(hello: ports.Store) -> None:
    hello.put_object(obj(size=5 * 2**32 + 7))
    assert hello.get_object("default", "hello", None, "data").size == 5 * 2**32 + 7


def test_times_are_read_back_in_utc(two_runs: ports.Store) -> None:
    two_runs.put_object(obj(created=NOW.astimezone(CET)))
    two_runs.put_object(obj(run=1, created=NOW.astimezone(CET)))
    for run in (None, 1):
        found = two_runs.get_object("default", "hello", run, "data")
        [listed] = two_runs.list_objects("default", "hello", run, None, 10)
        for stored in (found, listed):
            assert stored.created == NOW
            assert stored.created.tzinfo == datetime.UTC


def test_a_naive_time_is_refused_and_nothing_is_stored(hello: ports.Store) -> None:
    with pytest.raises(errors.Internal, match="has no time zone"):
        hello.put_object(obj(created=NOW.replace(tzinfo=None)))
    assert keys(hello) == []
    assert object_events(hello) == []


# places ------------------------------------------------------------------------------------


def test_one_key_in_each_place_names_a_different_object(
    two_runs: ports.Store, make_run: MakeRun
) -> None:
    make_run("other")
    two_runs.create_namespace(namespaces.Namespace("team", "", NOW))
    register(two_runs, "hello", "team")
    places: list[tuple[str, str, int | None]] = [
        ("default", "hello", None),
        ("default", "hello", 1),
        ("default", "hello", 2),
        ("default", "other", None),
        ("default", "other", 1),
        ("team", "hello", None),
    ]
    for size, (namespace, pipeline, run) in enumerate(places):
        two_runs.put_object(obj(namespace=namespace, pipeline=pipeline, run=run, size=size))
    for size, (namespace, pipeline, run) in enumerate(places):
        found = two_runs.get_object(namespace, pipeline, run, "data")
        assert (found.namespace, found.pipeline, found.run, found.size) == (
            namespace,
            pipeline,
            run,
            size,
        )
        assert keys(two_runs, run, pipeline=pipeline, namespace=namespace) == ["data"]
    gone = two_runs.delete_object("default", "hello", 1, "data")
    assert (gone.run, gone.size) == (1, 1)
    assert keys(two_runs, 1) == []
    assert keys(two_runs) == keys(two_runs, 2) == keys(two_runs, namespace="team") == ["data"]
    assert two_runs.get_object("default", "hello", None, "data").size == 0


def test_a_run_object_never_replaces_the_pipeline_object_of_its_key(
    two_runs: ports.Store,
) -> None:
    pipeline_object = obj(size=1)
    two_runs.put_object(pipeline_object)
    assert two_runs.put_object(obj(run=1, size=2)) == (None, [])
    assert two_runs.get_object("default", "hello", None, "data") == pipeline_object


# list --------------------------------------------------------------------------------------


def test_list_orders_objects_by_key_and_pages_after_a_key(two_runs: ports.Store) -> None:
    for key in ["deploy", "alpha", "ci.log", "backup", "zeta", "Zulu", "_x"]:
        two_runs.put_object(obj(key))
    two_runs.put_object(obj("aaa", run=1))
    assert keys(two_runs) == ["Zulu", "_x", "alpha", "backup", "ci.log", "deploy", "zeta"]
    assert keys(two_runs, limit=2) == ["Zulu", "_x"]
    assert keys(two_runs, after="alpha", limit=2) == ["backup", "ci.log"]
    assert keys(two_runs, after="b", limit=1) == ["backup"]
    assert keys(two_runs, after="zeta") == []
    assert keys(two_runs, 1) == ["aaa"]
    assert keys(two_runs, 2) == []


def test_list_of_a_place_without_objects_is_empty(two_runs: ports.Store) -> None:
    assert keys(two_runs) == []
    assert keys(two_runs, 1) == []


# eviction ----------------------------------------------------------------------------------


def test_put_beyond_keep_evicts_the_oldest_pipeline_objects_with_an_event_each(
    hello: ports.Store,
) -> None:
    stored = [
        obj("c", created=NOW),
        obj("a", created=NOW + MINUTE),
        obj("b", created=NOW + MINUTE),
        obj("d", created=NOW + 2 * MINUTE),
    ]
    for made in stored:
        assert hello.put_object(made, keep=None) == (None, [])
    newest = obj("e", created=NOW + 3 * MINUTE)
    replaced, evicted = hello.put_object(newest, keep=2)
    assert (replaced, evicted) == (None, stored[:3])
    assert keys(hello) == ["d", "e"]
    assert object_events(hello)[-4:] == [
        (events.OBJECT_STORED, "hello", None, "e"),
        (events.OBJECT_EVICTED, "hello", None, "c"),
        (events.OBJECT_EVICTED, "hello", None, "a"),
        (events.OBJECT_EVICTED, "hello", None, "b"),
    ]


def test_put_within_keep_evicts_nothing(hello: ports.Store) -> None:
    hello.put_object(obj("a"), keep=2)
    assert hello.put_object(obj("b"), keep=2) == (None, [])
    assert keys(hello) == ["a", "b"]
    assert [kind for kind, *_ in object_events(hello)] == [events.OBJECT_STORED] * 2


def test_a_replacement_counts_once_and_evicts_nothing(hello: ports.Store) -> None:
    first = obj("a")
    hello.put_object(first)
    hello.put_object(obj("b", created=NOW + MINUTE))
    again = obj("a", created=NOW + 2 * MINUTE, digest=OTHER_DIGEST)
    assert hello.put_object(again, keep=2) == (first, [])
    assert keys(hello) == ["a", "b"]


def test_the_object_just_put_is_never_evicted_even_when_it_is_the_oldest(
    hello: ports.Store,
) -> None:
    hello.put_object(obj("b", created=NOW))
    hello.put_object(obj("c", created=NOW))
    # Same time as the others and the first key: oldest by the eviction order, yet kept.
    _, evicted = hello.put_object(obj("a", created=NOW), keep=2)
    assert [o.key for o in evicted] == ["b"]
    # Older than every other (a clock that went back): kept all the same.
    _, evicted = hello.put_object(obj("z", created=NOW - MINUTE), keep=1)
    assert [o.key for o in evicted] == ["a", "c"]
    assert keys(hello) == ["z"]


def test_keep_zero_keeps_only_the_object_just_put(hello: ports.Store) -> None:
    hello.put_object(obj("a"))
    hello.put_object(obj("b"))
    _, evicted = hello.put_object(obj("c"), keep=0)
    assert [o.key for o in evicted] == ["a", "b"]
    assert keys(hello) == ["c"]


def test_run_objects_are_never_evicted_nor_counted_against_the_pipeline(
    two_runs: ports.Store,
) -> None:
    two_runs.put_object(obj("p", created=NOW + MINUTE))
    for key in ["a", "b", "c"]:
        assert two_runs.put_object(obj(key, run=1), keep=1) == (None, [])
    assert two_runs.put_object(obj("d", run=2), keep=0) == (None, [])
    assert two_runs.put_object(obj("q", created=NOW + 2 * MINUTE), keep=1)[1] == [
        obj("p", created=NOW + MINUTE)
    ]
    assert keys(two_runs, 1) == ["a", "b", "c"]
    assert keys(two_runs, 2) == ["d"]


def test_eviction_stays_within_the_pipeline(hello: ports.Store) -> None:
    register(hello, "other")
    hello.put_object(obj("old", pipeline="other", created=NOW - MINUTE))
    hello.put_object(obj("a"))
    _, evicted = hello.put_object(obj("b"), keep=1)
    assert [(o.pipeline, o.key) for o in evicted] == [("hello", "a")]
    assert keys(hello, pipeline="other") == ["old"]


# delete ------------------------------------------------------------------------------------


def test_delete_returns_the_object_with_an_event_and_a_second_delete_is_not_found(
    two_runs: ports.Store,
) -> None:
    stored = obj("report", run=2, size=12)
    two_runs.put_object(stored)
    two_runs.put_object(obj("other", run=2))
    assert two_runs.delete_object("default", "hello", 2, "report") == stored
    assert keys(two_runs, 2) == ["other"]
    with pytest.raises(errors.NotFound, match="object 'report' of run 'default/hello#2'"):
        two_runs.delete_object("default", "hello", 2, "report")
    assert object_events(two_runs)[-1] == (events.OBJECT_DELETED, "hello", 2, "report")
    assert len(object_events(two_runs)) == 3


def test_object_events_name_the_object_and_its_content(two_runs: ports.Store) -> None:
    two_runs.put_object(obj("report", run=1, size=12))
    two_runs.delete_object("default", "hello", 1, "report")
    two_runs.put_object(obj("data", size=3))
    found = two_runs.list_events(OBJECT_EVENTS, None, 10)
    assert [(e.kind, e.namespace, e.pipeline, e.run, e.data) for e in found] == [
        (
            events.OBJECT_STORED,
            "default",
            "hello",
            1,
            {"key": "report", "scope": "run", "digest": DIGEST, "size": 12},
        ),
        (
            events.OBJECT_DELETED,
            "default",
            "hello",
            1,
            {"key": "report", "scope": "run", "digest": DIGEST, "size": 12},
        ),
        (
            events.OBJECT_STORED,
            "default",
            "hello",
            None,
            {"key": "data", "scope": "pipeline", "digest": DIGEST, "size": 3},
        ),
    ]
    assert all(e.time.tzinfo == datetime.UTC for e in found)


# expiry ------------------------------------------------------------------------------------


@pytest.fixture
def four_runs(two_runs: ports.Store, make_run: MakeRun) -> ports.Store:
    """Return the store with runs 1 to 4 of ``default/hello``, and of ``default/other`` run 1,
    each with objects ``a`` and ``b``; and ``default/hello``'s own object ``a``."""
    make_run()
    make_run()
    make_run("other")
    for run in (1, 2, 3, 4):
        for key in ("b", "a"):
            two_runs.put_object(obj(key, run=run))
    two_runs.put_object(obj("a", run=1, pipeline="other"))
    two_runs.put_object(obj("a"))
    return two_runs


def places(found: list[objects.Object]) -> list[tuple[int | None, str]]:
    """Return the run and key of each object, in order."""
    return [(o.run, o.key) for o in found]


def test_expire_deletes_the_objects_of_the_runs_before_the_one_given_with_an_event_each(
    four_runs: ports.Store,
) -> None:
    before = len(object_events(four_runs))
    expired = four_runs.expire_run_objects("default", "hello", 3, 100)
    assert places(expired) == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
    assert keys(four_runs, 1) == keys(four_runs, 2) == []
    assert keys(four_runs, 3) == keys(four_runs, 4) == ["a", "b"]
    assert keys(four_runs) == ["a"]
    assert keys(four_runs, 1, pipeline="other") == ["a"]
    assert object_events(four_runs)[before:] == [
        (events.OBJECT_EXPIRED, "hello", 1, "a"),
        (events.OBJECT_EXPIRED, "hello", 1, "b"),
        (events.OBJECT_EXPIRED, "hello", 2, "a"),
        (events.OBJECT_EXPIRED, "hello", 2, "b"),
    ]


def test_expire_deletes_at_most_limit_by_run_then_key_and_goes_on_where_it_stopped(
    four_runs: ports.Store,
) -> None:
    assert places(four_runs.expire_run_objects("default", "hello", 4, 3)) == [
        (1, "a"),
        (1, "b"),
        (2, "a"),
    ]
    assert places(four_runs.expire_run_objects("default", "hello", 4, 3)) == [
        (2, "b"),
        (3, "a"),
        (3, "b"),
    ]
    assert four_runs.expire_run_objects("default", "hello", 4, 3) == []
    assert keys(four_runs, 4) == ["a", "b"]


@pytest.mark.parametrize("before_run", [1, 0, -5])
def test_expire_before_the_first_run_deletes_nothing(
    four_runs: ports.Store, before_run: int
) -> None:
    events_before = object_events(four_runs)
    assert four_runs.expire_run_objects("default", "hello", before_run, 100) == []
    assert keys(four_runs, 1) == ["a", "b"]
    assert object_events(four_runs) == events_before


def test_expire_never_deletes_the_pipelines_own_objects(four_runs: ports.Store) -> None:
    expired = four_runs.expire_run_objects("default", "hello", 100, 100)
    assert len(expired) == 8
    assert all(o.run is not None for o in expired)
    assert keys(four_runs) == ["a"]


def test_expire_of_a_pipeline_without_run_objects_is_empty(hello: ports.Store) -> None:
    hello.put_object(obj())
    assert hello.expire_run_objects("default", "hello", 10, 100) == []


# errors ------------------------------------------------------------------------------------


def test_a_missing_object_is_not_found_with_a_hint(two_runs: ports.Store) -> None:
    cases = [
        (None, "object 'data' of pipeline 'default/hello': not found"),
        (1, "object 'data' of run 'default/hello#1': not found"),
    ]
    for run, message in cases:
        for call in (two_runs.get_object, two_runs.delete_object):
            with pytest.raises(errors.NotFound) as caught:
                call("default", "hello", run, "data")
            assert caught.value.message == message
            assert caught.value.field == "key"
            assert caught.value.hint == "list the objects to see which exist"
    assert object_events(two_runs) == []


@pytest.mark.parametrize(
    ("namespace", "pipeline", "run", "message", "field"),
    [
        ("nope", "hello", None, "namespace 'nope': not found", "namespace"),
        ("nope", "hello", 1, "namespace 'nope': not found", "namespace"),
        ("default", "nope", None, "pipeline 'default/nope': not found", "pipeline"),
        ("default", "nope", 1, "pipeline 'default/nope': not found", "pipeline"),
        (
            "default",
            "hello",
            3,
            "run 'default/hello#3': not found (pipeline 'default/hello' exists)",
            "run",
        ),
        # Runs are numbered from 1: no run 0 (nor below) reaches the pipeline's own objects.
        (
            "default",
            "hello",
            0,
            "run 'default/hello#0': not found (pipeline 'default/hello' exists)",
            "run",
        ),
        (
            "default",
            "hello",
            -1,
            "run 'default/hello#-1': not found (pipeline 'default/hello' exists)",
            "run",
        ),
    ],
)
def test_a_missing_namespace_pipeline_or_run_is_named_first(
    two_runs: ports.Store,
    namespace: str,
    pipeline: str,
    run: int | None,
    message: str,
    field: str,
) -> None:
    two_runs.put_object(obj())
    calls: list[Callable[[], object]] = [
        lambda: two_runs.put_object(obj(namespace=namespace, pipeline=pipeline, run=run)),
        lambda: two_runs.put_object(obj(namespace=namespace, pipeline=pipeline, run=run), 1),
        lambda: two_runs.get_object(namespace, pipeline, run, "data"),
        lambda: two_runs.list_objects(namespace, pipeline, run, None, 10),
        lambda: two_runs.delete_object(namespace, pipeline, run, "data"),
    ]
    for call in calls:
        with pytest.raises(errors.NotFound) as caught:
            call()
        assert (caught.value.message, caught.value.field) == (message, field)
    assert two_runs.get_object("default", "hello", None, "data") == obj()
    assert [kind for kind, *_ in object_events(two_runs)] == [events.OBJECT_STORED]


# the table ---------------------------------------------------------------------------------


@SQL_ONLY
def test_rows_keep_the_pipelines_objects_under_run_0(two_runs: ports.Store, url: str) -> None:
    two_runs.put_object(obj("a"))
    two_runs.put_object(obj("a", run=2))
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(tables.objects.c.run, tables.objects.c.key).order_by(tables.objects.c.run)
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(0, "a"), (2, "a")]
