"""Subscriptions made by hand in every Store: created with their settings under a pipeline's key,
found, listed by key (a pipeline's, or every pipeline's), deleted; never changed."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from hostler.core import errors, events, namespaces, ports, subscriptions
from hostler.storage import database, tables

from .conftest import NOW, SQL_ONLY, register

CET = datetime.timezone(datetime.timedelta(hours=1))


def made(
    key: str = "nightly",
    pipeline: str = "hello",
    namespace: str = "default",
    **changes: Any,
) -> subscriptions.Manual:
    """Return a subscription not yet stored: a cron one of ``default/hello`` unless told."""
    sub = subscriptions.Manual(
        namespace, pipeline, key, "cron", {"schedule": "0 2 * * *"}, NOW, "alice"
    )
    return dataclasses.replace(sub, **changes)


@pytest.fixture
def hello(store: ports.Store) -> ports.Store:
    """Return the store with pipeline ``default/hello`` registered."""
    register(store)
    return store


def keys(
    store: ports.Store,
    after: str | None = None,
    limit: int = 100,
    pipeline: str = "hello",
    namespace: str = "default",
) -> list[str]:
    """Return the keys of the pipeline's subscriptions listed, in the order listed."""
    return [s.key for s in store.list_subscriptions(namespace, pipeline, after, limit)]


def test_create_returns_the_subscription_and_get_round_trips_its_settings(
    hello: ports.Store,
) -> None:
    settings = {
        "webhook": {"url": "https://chat.example/hook/secret{{TOKEN}}", "retries": 3},
        "email": {"to": ["ops@example.com", "global_secret{{ONCALL}}"]},
        "on": ["failure"],
        "quiet": False,
        "ratio": 0.5,
        "nothing": None,
        "text": "'quoted' \"too\" ✓",
    }
    sub = made("tell", extension="notify", settings=settings)
    assert hello.create_subscription(sub) == sub
    found = hello.get_subscription("default", "hello", "tell")
    assert found == sub
    assert found.settings == settings
    assert found.id == "default/hello/tell"


def test_created_is_read_back_in_utc(hello: ports.Store) -> None:
    in_cet = NOW.astimezone(CET)
    stored = hello.create_subscription(made(created=in_cet))
    assert stored.created == NOW
    assert stored.created.tzinfo == datetime.UTC
    assert hello.get_subscription("default", "hello", "nightly").created.tzinfo == datetime.UTC


def test_a_naive_creation_time_is_refused_and_writes_nothing(hello: ports.Store) -> None:
    with pytest.raises(errors.Internal, match="has no time zone"):
        hello.create_subscription(made(created=NOW.replace(tzinfo=None)))
    assert keys(hello) == []


def test_settings_read_back_are_a_copy_of_their_own(hello: ports.Store) -> None:
    given: dict[str, Any] = {"webhook": {"url": "https://a.example"}}
    stored = hello.create_subscription(made("tell", extension="notify", settings=given))
    given["webhook"]["url"] = "changed"
    stored.settings["webhook"]["url"] = "changed too"
    assert hello.get_subscription("default", "hello", "tell").settings == {
        "webhook": {"url": "https://a.example"}
    }


def test_list_orders_a_pipelines_subscriptions_by_key_and_pages_after_a_key(
    hello: ports.Store,
) -> None:
    register(hello, "other")
    for key in ["nightly", "alpha", "zeta", "beta"]:
        hello.create_subscription(made(key))
    hello.create_subscription(made("aaa", pipeline="other"))
    assert keys(hello) == ["alpha", "beta", "nightly", "zeta"]
    assert keys(hello, None, 2) == ["alpha", "beta"]
    assert keys(hello, "beta", 2) == ["nightly", "zeta"]
    assert keys(hello, "zeta", 2) == []
    assert keys(hello, pipeline="other") == ["aaa"]


def test_list_of_a_pipeline_without_subscriptions_is_empty(hello: ports.Store) -> None:
    assert hello.list_subscriptions("default", "hello", None, 10) == []


def test_list_all_orders_by_namespace_pipeline_and_key_and_pages_after_a_triple(
    store: ports.Store,
) -> None:
    store.create_namespace(namespaces.Namespace("team-a", "", NOW))
    store.create_namespace(namespaces.Namespace("a", "", NOW))
    for namespace, pipeline in [("team-a", "build"), ("default", "hello"), ("a", "z"), ("a", "b")]:
        register(store, pipeline, namespace)
    for namespace, pipeline, key in [
        ("team-a", "build", "x"),
        ("default", "hello", "b"),
        ("default", "hello", "a"),
        ("a", "z", "a"),
        ("a", "b", "c"),
    ]:
        store.create_subscription(made(key, pipeline, namespace))

    def listed(after: tuple[str, str, str] | None, limit: int) -> list[str]:
        return [s.id for s in store.list_all_subscriptions(after, limit)]

    every = ["a/b/c", "a/z/a", "default/hello/a", "default/hello/b", "team-a/build/x"]
    assert listed(None, 100) == every
    assert listed(None, 2) == every[:2]
    assert listed(("a", "z", "a"), 2) == every[2:4]
    assert listed(("default", "hello", "b"), 2) == every[4:]
    assert listed(("team-a", "build", "x"), 2) == []
    # a triple that is no subscription's still pages from where it would be
    assert listed(("a", "c", ""), 100) == every[1:]


def test_delete_removes_the_subscription_and_deleting_again_is_not_found(
    hello: ports.Store,
) -> None:
    hello.create_subscription(made("nightly"))
    hello.create_subscription(made("hourly"))
    hello.delete_subscription("default", "hello", "nightly")
    assert keys(hello) == ["hourly"]
    with pytest.raises(errors.NotFound) as caught:
        hello.delete_subscription("default", "hello", "nightly")
    assert caught.value.message == "subscription 'nightly' of pipeline 'default/hello': not found"
    assert caught.value.field == "key"
    assert caught.value.hint == "list the pipeline's subscriptions to see which exist"


def test_get_of_a_missing_subscription_is_not_found(hello: ports.Store) -> None:
    with pytest.raises(errors.NotFound) as caught:
        hello.get_subscription("default", "hello", "nightly")
    assert caught.value.message == "subscription 'nightly' of pipeline 'default/hello': not found"
    assert caught.value.field == "key"


@pytest.mark.parametrize(
    ("namespace", "pipeline", "message", "field"),
    [
        ("default", "nope", "pipeline 'default/nope': not found", "pipeline"),
        ("nope", "hello", "namespace 'nope': not found", "namespace"),
    ],
)
def test_every_method_names_a_missing_pipeline_or_namespace(
    hello: ports.Store, namespace: str, pipeline: str, message: str, field: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: hello.create_subscription(made(pipeline=pipeline, namespace=namespace)),
        lambda: hello.get_subscription(namespace, pipeline, "nightly"),
        lambda: hello.list_subscriptions(namespace, pipeline, None, 10),
        lambda: hello.delete_subscription(namespace, pipeline, "nightly"),
    ]
    for call in calls:
        with pytest.raises(errors.NotFound) as caught:
            call()
        assert (caught.value.message, caught.value.field) == (message, field)


def test_a_key_taken_is_already_exists_and_writes_nothing(hello: ports.Store) -> None:
    first = hello.create_subscription(made("nightly"))
    with pytest.raises(errors.AlreadyExists) as caught:
        hello.create_subscription(made("nightly", extension="interval", settings={"every": "1m"}))
    assert caught.value.message == (
        "subscription 'nightly' of pipeline 'default/hello': already exists"
    )
    assert caught.value.field == "id"
    assert caught.value.hint == "give it another id with --id, or unsubscribe the one there first"
    assert hello.list_subscriptions("default", "hello", None, 10) == [first]


def test_the_same_key_in_two_pipelines_is_two_subscriptions(hello: ports.Store) -> None:
    register(hello, "other")
    hello.create_subscription(made("nightly"))
    hello.create_subscription(made("nightly", pipeline="other"))
    assert [s.id for s in hello.list_all_subscriptions(None, 10)] == [
        "default/hello/nightly",
        "default/other/nightly",
    ]


def test_the_key_of_a_deleted_subscription_can_be_taken_again(hello: ports.Store) -> None:
    hello.create_subscription(made("nightly"))
    hello.delete_subscription("default", "hello", "nightly")
    again = made("nightly", extension="interval", settings={"every": "1h"})
    hello.create_subscription(again)
    assert hello.get_subscription("default", "hello", "nightly") == again


def test_subscriptions_append_no_events(hello: ports.Store) -> None:
    before = hello.list_events(events.Filter(), None, 1000)
    hello.create_subscription(made())
    hello.delete_subscription("default", "hello", "nightly")
    assert hello.list_events(events.Filter(), None, 1000) == before


@SQL_ONLY
def test_settings_are_kept_as_json_with_sorted_keys_and_the_time_made(
    hello: ports.Store, url: str
) -> None:
    hello.create_subscription(made("tell", extension="notify", settings={"b": 1, "a": {"d": 2}}))
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.select(tables.subscriptions)).one()
    finally:
        engine.dispose()
    assert row.settings == '{"a":{"d":2},"b":1}'
    assert json.loads(row.settings) == {"a": {"d": 2}, "b": 1}
    assert (row.extension, row.created_by) == ("notify", "alice")
    assert row.created == NOW
