"""Secrets in every Store: a pipeline's or global, put whole (keeping when they were made), found
by place and name, listed by name, deleted, and found by the key they are encrypted under."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from hostler.core import errors, events, namespaces, ports, secrets
from hostler.storage import database, tables

from .conftest import NOW, SQL_ONLY, register

LATER = NOW + datetime.timedelta(hours=1)
CET = datetime.timezone(datetime.timedelta(hours=1))
EVERY_BYTE = bytes(range(256)) * 3


def secret(
    name: str = "TOKEN",
    namespace: str | None = "default",
    pipeline: str | None = "hello",
    **changes: object,
) -> secrets.Secret:
    """Return a secret not yet stored, of pipeline ``default/hello`` unless told otherwise."""
    made = secrets.Secret(namespace, pipeline, name, b"sealed", "k1", NOW, NOW)
    return made.evolve(**changes)


def global_secret(name: str = "TOKEN", **changes: object) -> secrets.Secret:
    """Return a global secret not yet stored, shared with the namespaces ``team-*``."""
    return secret(name, None, None, **{"namespaces": ("team-*",), **changes})


@pytest.fixture
def hello(store: ports.Store) -> ports.Store:
    """Return the store with pipeline ``default/hello`` registered."""
    register(store)
    return store


def names(
    store: ports.Store,
    namespace: str | None = "default",
    pipeline: str | None = "hello",
    after: str | None = None,
    limit: int = 100,
) -> list[str]:
    """Return the names of the secrets listed in a place, in the order listed."""
    return [s.name for s in store.list_secrets(namespace, pipeline, after, limit)]


# put and get -------------------------------------------------------------------------------


def test_put_returns_a_pipeline_secret_as_stored_and_get_finds_it(hello: ports.Store) -> None:
    stored = hello.put_secret(secret(revision=9))
    assert stored == secret(revision=1)
    assert hello.get_secret("default", "hello", "TOKEN") == stored
    assert stored.scope is secrets.Scope.PIPELINE


def test_put_returns_a_global_secret_as_stored_and_get_finds_it(store: ports.Store) -> None:
    stored = store.put_secret(global_secret(namespaces=["team-*", "ops"]))
    assert stored == global_secret(namespaces=("team-*", "ops"))
    assert isinstance(stored.namespaces, tuple)
    assert store.get_secret(None, None, "TOKEN") == stored
    assert stored.scope is secrets.Scope.GLOBAL


def test_put_replaces_the_value_keeps_created_and_counts_the_revision(hello: ports.Store) -> None:
    hello.put_secret(secret())
    replaced = hello.put_secret(
        secret(ciphertext=b"resealed", key="k2", created=LATER, updated=LATER, revision=1)
    )
    again = hello.put_secret(secret(ciphertext=b"third", updated=LATER, revision=1))
    assert (replaced.ciphertext, replaced.key, replaced.revision) == (b"resealed", "k2", 2)
    assert (replaced.created, replaced.updated) == (NOW, LATER)
    assert (again.ciphertext, again.key, again.revision, again.created) == (b"third", "k1", 3, NOW)
    assert hello.get_secret("default", "hello", "TOKEN") == again


def test_put_replaces_the_namespaces_a_global_secret_is_shared_with(store: ports.Store) -> None:
    store.put_secret(global_secret())
    replaced = store.put_secret(global_secret(namespaces=("ops",), updated=LATER))
    assert replaced.namespaces == ("ops",)
    assert store.get_secret(None, None, "TOKEN").namespaces == ("ops",)


def test_the_ciphertext_comes_back_byte_for_byte(hello: ports.Store) -> None:
    large = EVERY_BYTE * (secrets.MAX_VALUE_BYTES // len(EVERY_BYTE) + 1)
    hello.put_secret(secret("EVERY", ciphertext=EVERY_BYTE))
    hello.put_secret(secret("LARGE", ciphertext=large))
    hello.put_secret(secret("NULS", ciphertext=b"\x00" * 40))
    assert hello.get_secret("default", "hello", "EVERY").ciphertext == EVERY_BYTE
    assert hello.get_secret("default", "hello", "LARGE").ciphertext == large
    found = hello.list_secrets("default", "hello", None, 10)
    assert [type(s.ciphertext) for s in found] == [bytes] * 3
    assert found[2].ciphertext == b"\x00" * 40


def test_times_are_read_back_in_utc(hello: ports.Store) -> None:
    stored = hello.put_secret(secret(created=NOW.astimezone(CET), updated=LATER.astimezone(CET)))
    found = hello.get_secret("default", "hello", "TOKEN")
    assert (stored.created, stored.updated) == (NOW, LATER)
    assert found.created.tzinfo == found.updated.tzinfo == datetime.UTC


def test_a_naive_time_is_refused_and_nothing_is_stored(hello: ports.Store) -> None:
    with pytest.raises(errors.Internal, match="has no time zone"):
        hello.put_secret(secret(updated=NOW.replace(tzinfo=None)))
    assert names(hello) == []


# places ------------------------------------------------------------------------------------


def test_a_global_and_a_pipeline_secret_of_one_name_are_apart(hello: ports.Store) -> None:
    hello.put_secret(secret(ciphertext=b"pipeline's"))
    hello.put_secret(global_secret(ciphertext=b"global"))
    assert hello.get_secret("default", "hello", "TOKEN").ciphertext == b"pipeline's"
    assert hello.get_secret(None, None, "TOKEN").ciphertext == b"global"
    assert names(hello) == names(hello, None, None) == ["TOKEN"]
    hello.delete_secret(None, None, "TOKEN")
    assert hello.get_secret("default", "hello", "TOKEN").ciphertext == b"pipeline's"
    assert names(hello, None, None) == []


def test_one_name_in_two_pipelines_names_two_secrets(hello: ports.Store) -> None:
    register(hello, "other")
    hello.create_namespace(namespaces.Namespace("team", "", NOW))
    register(hello, "hello", "team")
    for namespace, pipeline in [("default", "hello"), ("default", "other"), ("team", "hello")]:
        hello.put_secret(
            secret(namespace=namespace, pipeline=pipeline, ciphertext=pipeline.encode())
        )
    replaced = hello.put_secret(secret(namespace="team", ciphertext=b"team's", updated=LATER))
    assert replaced.revision == 2
    assert hello.get_secret("default", "hello", "TOKEN").revision == 1
    assert hello.get_secret("default", "hello", "TOKEN").ciphertext == b"hello"
    assert hello.get_secret("default", "other", "TOKEN").ciphertext == b"other"
    assert hello.get_secret("team", "hello", "TOKEN").ciphertext == b"team's"
    hello.delete_secret("default", "other", "TOKEN")
    assert names(hello, "default", "other") == []
    assert names(hello) == names(hello, "team", "hello") == ["TOKEN"]


# list --------------------------------------------------------------------------------------


def test_list_orders_secrets_by_name_and_pages_after_a_name(hello: ports.Store) -> None:
    for name in ["DEPLOY", "ALPHA", "CI", "BACKUP", "ZETA"]:
        hello.put_secret(secret(name))
    hello.put_secret(global_secret("AAA"))
    assert names(hello) == ["ALPHA", "BACKUP", "CI", "DEPLOY", "ZETA"]
    assert names(hello, limit=2) == ["ALPHA", "BACKUP"]
    assert names(hello, after="BACKUP", limit=2) == ["CI", "DEPLOY"]
    assert names(hello, after="B", limit=1) == ["BACKUP"]
    assert names(hello, after="ZETA") == []
    assert names(hello, None, None) == ["AAA"]


def test_list_of_a_pipeline_without_secrets_and_of_no_global_ones_is_empty(
    hello: ports.Store,
) -> None:
    assert names(hello) == []
    assert names(hello, None, None) == []


# list_secrets_not_under --------------------------------------------------------------------


def test_list_not_under_finds_the_secrets_of_other_keys_across_places(hello: ports.Store) -> None:
    register(hello, "apple")
    hello.put_secret(secret("B", key="old"))
    hello.put_secret(secret("A", key="new"))
    hello.put_secret(secret("C", pipeline="apple", key="older"))
    hello.put_secret(global_secret("Z", key="old"))
    hello.put_secret(global_secret("Y", key="new"))
    found = hello.list_secrets_not_under("new", 10)
    assert [(s.namespace, s.pipeline, s.name, s.key) for s in found] == [
        (None, None, "Z", "old"),
        ("default", "apple", "C", "older"),
        ("default", "hello", "B", "old"),
    ]
    assert [s.name for s in hello.list_secrets_not_under("new", 2)] == ["Z", "C"]
    assert {s.name for s in hello.list_secrets_not_under("old", 10)} == {"A", "C", "Y"}


def test_a_secret_put_again_under_the_key_is_no_longer_listed_not_under_it(
    hello: ports.Store,
) -> None:
    old = hello.put_secret(secret(key="old"))
    hello.put_secret(old.evolve(ciphertext=b"resealed", key="new", updated=LATER))
    assert hello.list_secrets_not_under("new", 10) == []
    assert hello.list_secrets_not_under("other", 10)[0].ciphertext == b"resealed"


# delete ------------------------------------------------------------------------------------


def test_delete_removes_one_secret_and_a_second_delete_is_not_found(hello: ports.Store) -> None:
    hello.put_secret(secret("A"))
    hello.put_secret(secret("B"))
    hello.delete_secret("default", "hello", "A")
    assert names(hello) == ["B"]
    with pytest.raises(errors.NotFound, match="secret 'A' of pipeline 'default/hello'"):
        hello.get_secret("default", "hello", "A")
    with pytest.raises(errors.NotFound, match="secret 'A' of pipeline 'default/hello'"):
        hello.delete_secret("default", "hello", "A")


def test_a_deleted_secret_put_again_starts_anew(hello: ports.Store) -> None:
    hello.put_secret(secret())
    hello.put_secret(secret(updated=LATER))
    hello.delete_secret("default", "hello", "TOKEN")
    again = hello.put_secret(secret(created=LATER, updated=LATER))
    assert (again.created, again.revision) == (LATER, 1)


# errors ------------------------------------------------------------------------------------


def test_a_missing_pipeline_secret_is_not_found_with_a_hint(hello: ports.Store) -> None:
    for call in (hello.get_secret, hello.delete_secret):
        with pytest.raises(errors.NotFound) as caught:
            call("default", "hello", "TOKEN")
        assert caught.value.message == "secret 'TOKEN' of pipeline 'default/hello': not found"
        assert caught.value.field == "secret"
        assert caught.value.hint == "list the secrets to see which exist"


def test_a_missing_global_secret_is_not_found_with_a_hint(store: ports.Store) -> None:
    for call in (store.get_secret, store.delete_secret):
        with pytest.raises(errors.NotFound) as caught:
            call(None, None, "TOKEN")
        assert caught.value.message == "global secret 'TOKEN': not found"
        assert caught.value.field == "secret"
        assert caught.value.hint == "list the secrets to see which exist"


@pytest.mark.parametrize(
    ("namespace", "pipeline", "message", "field"),
    [
        ("default", "nope", "pipeline 'default/nope': not found", "pipeline"),
        ("nope", "hello", "namespace 'nope': not found", "namespace"),
    ],
)
def test_a_missing_pipeline_or_namespace_is_named_first(
    hello: ports.Store, namespace: str, pipeline: str, message: str, field: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: hello.put_secret(secret(namespace=namespace, pipeline=pipeline)),
        lambda: hello.get_secret(namespace, pipeline, "TOKEN"),
        lambda: hello.list_secrets(namespace, pipeline, None, 10),
        lambda: hello.delete_secret(namespace, pipeline, "TOKEN"),
    ]
    for call in calls:
        with pytest.raises(errors.NotFound) as caught:
            call()
        assert (caught.value.message, caught.value.field) == (message, field)
    assert hello.list_secrets_not_under("", 10) == []


@pytest.mark.parametrize(
    ("namespace", "pipeline", "field", "message"),
    [
        ("default", None, "pipeline", "secrets: namespace 'default' with pipeline none"),
        (None, "hello", "namespace", "secrets: namespace none with pipeline 'hello'"),
    ],
)
def test_a_namespace_without_a_pipeline_or_the_reverse_is_no_place(
    hello: ports.Store, namespace: str | None, pipeline: str | None, field: str, message: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: hello.put_secret(secret(namespace=namespace, pipeline=pipeline)),
        lambda: hello.get_secret(namespace, pipeline, "TOKEN"),
        lambda: hello.list_secrets(namespace, pipeline, None, 10),
        lambda: hello.delete_secret(namespace, pipeline, "TOKEN"),
    ]
    for call in calls:
        with pytest.raises(errors.InvalidArgument) as caught:
            call()
        assert (caught.value.message, caught.value.field) == (f"{message}: not a place", field)
        assert caught.value.hint
    assert hello.list_secrets_not_under("", 10) == []


def test_secret_writes_append_no_events(hello: ports.Store) -> None:
    before = hello.list_events(events.Filter(), None, 1000)
    hello.put_secret(secret())
    hello.put_secret(secret(updated=LATER))
    hello.put_secret(global_secret())
    hello.delete_secret("default", "hello", "TOKEN")
    assert hello.list_events(events.Filter(), None, 1000) == before


# the table ---------------------------------------------------------------------------------


@SQL_ONLY
def test_rows_are_keyed_by_place_with_no_namespace_or_pipeline_for_global_ones(
    hello: ports.Store, url: str
) -> None:
    hello.put_secret(secret(ciphertext=EVERY_BYTE))
    hello.put_secret(global_secret())
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    tables.secrets.c.place,
                    tables.secrets.c.namespace,
                    tables.secrets.c.pipeline,
                    tables.secrets.c.namespaces,
                ).order_by(tables.secrets.c.place)
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("", None, None, '["team-*"]'),
        ("default/hello", "default", "hello", "[]"),
    ]


@SQL_ONLY
@pytest.mark.parametrize(
    ("place", "namespace", "pipeline"),
    [
        ("", "default", None),  # half a pipeline
        ("default/hello", None, None),  # a place that is not its pipeline's
        ("", "default", "hello"),
        ("default/other", "default", "hello"),
        ("default/nope", "default", "nope"),  # no such pipeline
    ],
)
def test_the_table_refuses_a_row_whose_place_and_pipeline_disagree(
    hello: ports.Store, url: str, place: str, namespace: str | None, pipeline: str | None
) -> None:
    engine = database.connect(url)
    try:
        with pytest.raises(errors.Conflict), database.transaction(engine) as connection:
            connection.execute(
                tables.secrets.insert().values(
                    place=place,
                    name="TOKEN",
                    namespace=namespace,
                    pipeline=pipeline,
                    ciphertext=b"x",
                    key="k1",
                    namespaces="[]",
                    created=NOW,
                    updated=NOW,
                    revision=1,
                )
            )
    finally:
        engine.dispose()
