"""Tokens in every Store: created once by id and name, listed by name, changed with
compare-and-set in their roles, expiry and disabled flag only, and deleted; run tokens listed and
deleted by their run too."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from hostler.core import errors, ports, tokens
from hostler.storage import database, tables

from .conftest import NOW, SQL_ONLY

DAY = datetime.timedelta(days=1)
CET = datetime.timezone(datetime.timedelta(hours=1))
DIGEST = "0" * 64


def token(
    name: str = "ci",
    id_: str = "0123456789ab",
    roles: tuple[str, ...] = ("namespace-reader:team-*",),
    **changes: object,
) -> tokens.Token:
    """Return a token not yet stored, with a fixed id and digest."""
    made = tokens.Token(id_, name, roles, DIGEST, NOW, "alice")
    return made.evolve(**changes)


def names(store: ports.Store, after: str | None = None, limit: int = 100) -> list[str]:
    """Return the names of the tokens listed, in the order listed."""
    return [t.name for t in store.list_tokens(after, limit)]


def test_create_returns_the_token_as_stored_and_get_finds_it_by_id(store: ports.Store) -> None:
    made = token(expires=NOW + DAY, roles=("admin", "deployers"))
    created = store.create_token(made)
    assert created == made
    assert store.get_token(made.id) == made


def test_a_new_token_starts_at_revision_1_whatever_it_was_given(store: ports.Store) -> None:
    assert store.create_token(token(revision=7)).revision == 1
    assert store.get_token("0123456789ab").revision == 1


def test_a_made_token_is_verified_by_the_digest_stored(store: ports.Store) -> None:
    made, text = tokens.new("ci", ("admin",), created=NOW, created_by="alice")
    store.create_token(made)
    token_id, secret = tokens.parse(text)
    found = store.get_token(token_id)
    assert tokens.verify(found, secret)
    assert not tokens.verify(found, secret[::-1])


def test_list_orders_tokens_by_name_and_pages_after_a_name(store: ports.Store) -> None:
    for i, name in enumerate(["deploy", "alpha", "ci", "backup", "zeta"]):
        store.create_token(token(name, id_=f"{9 - i:012x}"))
    assert names(store) == ["alpha", "backup", "ci", "deploy", "zeta"]
    assert names(store, None, 2) == ["alpha", "backup"]
    assert names(store, "backup", 2) == ["ci", "deploy"]
    assert names(store, "deploy", 2) == ["zeta"]
    assert names(store, "zeta", 2) == []
    assert names(store, "b", 1) == ["backup"]


def test_list_of_no_tokens_is_empty(store: ports.Store) -> None:
    assert store.list_tokens(None, 10) == []


def test_update_writes_roles_expiry_and_disabled_and_keeps_the_rest(store: ports.Store) -> None:
    stored = store.create_token(token())
    changed = stored.evolve(
        roles=("admin",),
        expires=NOW + DAY,
        disabled=True,
        name="renamed",
        digest="f" * 64,
        created=NOW + DAY,
        created_by="mallory",
    )
    updated = store.update_token(changed, expected_revision=1)
    expected = stored.evolve(roles=("admin",), expires=NOW + DAY, disabled=True, revision=2)
    assert updated == expected
    assert store.get_token(stored.id) == expected
    assert names(store) == ["ci"]


def test_update_can_clear_the_expiry_and_enable_again(store: ports.Store) -> None:
    stored = store.create_token(token(expires=NOW + DAY, disabled=True))
    updated = store.update_token(stored.evolve(expires=None, disabled=False, roles=()), 1)
    assert (updated.expires, updated.disabled, updated.roles, updated.revision) == (
        None,
        False,
        (),
        2,
    )
    assert updated.digest == DIGEST


def test_update_with_a_stale_revision_is_a_conflict_and_writes_nothing(
    store: ports.Store,
) -> None:
    stored = store.create_token(token())
    store.update_token(stored.evolve(disabled=True), expected_revision=1)
    with pytest.raises(errors.Conflict) as caught:
        store.update_token(stored.evolve(roles=("admin",)), expected_revision=1)
    assert caught.value.message == (
        "token '0123456789ab': changed by someone else (revision 2, expected 1)"
    )
    assert caught.value.hint == "read it again and retry"
    assert store.get_token(stored.id) == stored.evolve(disabled=True, revision=2)


def test_updating_a_missing_token_is_not_found(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound) as caught:
        store.update_token(token(), expected_revision=1)
    assert caught.value.message == "token '0123456789ab': not found"
    assert caught.value.field == "token"
    assert store.list_tokens(None, 10) == []


def test_get_of_a_missing_token_is_not_found(store: ports.Store) -> None:
    store.create_token(token())
    with pytest.raises(errors.NotFound) as caught:
        store.get_token("ba9876543210")
    assert caught.value.message == "token 'ba9876543210': not found"
    assert caught.value.field == "token"
    assert caught.value.hint == "list the tokens to see which exist"


def test_a_token_is_found_by_its_id_not_its_name(store: ports.Store) -> None:
    store.create_token(token("ci"))
    with pytest.raises(errors.NotFound):
        store.get_token("ci")


def test_delete_removes_the_token_and_deleting_again_is_not_found(store: ports.Store) -> None:
    store.create_token(token("ci"))
    store.create_token(token("deploy", id_="ba9876543210"))
    store.delete_token("0123456789ab")
    assert names(store) == ["deploy"]
    with pytest.raises(errors.NotFound) as caught:
        store.delete_token("0123456789ab")
    assert caught.value.message == "token '0123456789ab': not found"
    assert caught.value.field == "token"
    assert caught.value.hint == "list the tokens to see which exist"


def test_a_name_taken_is_already_exists_and_writes_nothing(store: ports.Store) -> None:
    first = store.create_token(token("ci"))
    with pytest.raises(errors.AlreadyExists) as caught:
        store.create_token(token("ci", id_="ba9876543210", roles=("admin",)))
    assert caught.value.message == "token 'ci': already exists"
    assert caught.value.field == "name"
    assert caught.value.hint == "choose another name, or delete the old token first"
    assert store.list_tokens(None, 10) == [first]


def test_an_id_taken_is_already_exists_and_writes_nothing(store: ports.Store) -> None:
    first = store.create_token(token("ci"))
    with pytest.raises(errors.AlreadyExists) as caught:
        store.create_token(token("deploy"))
    assert caught.value.message == "token '0123456789ab': already exists"
    assert caught.value.field == "token"
    assert store.list_tokens(None, 10) == [first]


def test_the_name_of_a_deleted_token_can_be_taken_again(store: ports.Store) -> None:
    store.create_token(token("ci"))
    store.delete_token("0123456789ab")
    again = store.create_token(token("ci", id_="ba9876543210"))
    assert store.list_tokens(None, 10) == [again]


def test_timestamps_come_back_aware_in_utc(store: ports.Store) -> None:
    made = token(created=NOW.astimezone(CET), expires=(NOW + DAY).astimezone(CET))
    created = store.create_token(made)
    updated = store.update_token(created.evolve(expires=(NOW + 2 * DAY).astimezone(CET)), 1)
    [listed] = store.list_tokens(None, 10)
    for found in (created, store.get_token(made.id), updated, listed):
        assert found.created == NOW
        assert found.created.tzinfo == datetime.UTC
        assert found.expires is not None
        assert found.expires.tzinfo == datetime.UTC
    assert created.expires == NOW + DAY
    assert listed.expires == updated.expires == NOW + 2 * DAY


def test_a_naive_time_is_refused_and_writes_nothing(store: ports.Store) -> None:
    naive = datetime.datetime(2025, 1, 1)
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.create_token(token(created=naive))
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.create_token(token(expires=naive))
    assert store.list_tokens(None, 10) == []
    stored = store.create_token(token())
    with pytest.raises(errors.Internal, match="has no time zone"):
        store.update_token(stored.evolve(expires=naive, disabled=True), 1)
    assert store.get_token(stored.id) == stored


# run tokens --------------------------------------------------------------------------------

RUN_4 = tokens.RunRef("default", "hello", 4)


def run_names(store: ports.Store, after: str | None = None, limit: int = 100) -> list[str]:
    """Return the names of the run tokens listed, in the order listed."""
    return [t.name for t in store.list_run_tokens(after, limit)]


def test_a_run_token_comes_back_with_its_run(store: ports.Store) -> None:
    made = token("run-4", run=RUN_4)
    assert store.create_token(made) == made
    found = store.get_token(made.id)
    assert found.run == RUN_4
    assert isinstance(found.run.run, int)
    assert store.list_tokens(None, 10) == store.list_run_tokens(None, 10) == [made]


def test_a_made_run_token_keeps_its_run(store: ports.Store) -> None:
    made, _ = tokens.new("run-4", (), created=NOW, created_by="hostler", run=RUN_4)
    store.create_token(made)
    assert store.get_token(made.id).run == RUN_4


def test_update_keeps_the_run_of_a_token(store: ports.Store) -> None:
    stored = store.create_token(token("run-4", run=RUN_4))
    updated = store.update_token(stored.evolve(run=None, disabled=True), 1)
    assert updated.run == store.get_token(stored.id).run == RUN_4
    plain = store.create_token(token("ci", id_="ba9876543210"))
    assert store.update_token(plain.evolve(run=RUN_4), 1).run is None


def test_list_run_tokens_lists_only_run_tokens_by_name_after_a_name(store: ports.Store) -> None:
    runs = [
        ("run-c", tokens.RunRef("default", "hello", 2)),
        ("plain-a", None),
        ("run-a", RUN_4),
        ("run-b", tokens.RunRef("team-a", "build", 1)),
        ("plain-z", None),
    ]
    for i, (name, run) in enumerate(runs):
        store.create_token(token(name, id_=f"{i:012x}", run=run))
    assert run_names(store) == ["run-a", "run-b", "run-c"]
    assert run_names(store, None, 2) == ["run-a", "run-b"]
    assert run_names(store, "run-a", 1) == ["run-b"]
    assert run_names(store, "run-c") == []
    assert [t.run for t in store.list_run_tokens(None, 10)] == [runs[2][1], runs[3][1], runs[0][1]]
    assert names(store) == ["plain-a", "plain-z", "run-a", "run-b", "run-c"]


def test_delete_run_tokens_deletes_those_of_that_run_only_and_counts_them(
    store: ports.Store,
) -> None:
    others = [
        tokens.RunRef("default", "hello", 3),
        tokens.RunRef("default", "hello", 40),
        tokens.RunRef("default", "other", 4),
        tokens.RunRef("team", "hello", 4),
    ]
    store.create_token(token("run-4a", id_="000000000001", run=RUN_4))
    store.create_token(token("run-4b", id_="000000000002", run=RUN_4))
    for i, run in enumerate(others):
        store.create_token(token(f"other-{i}", id_=f"{i + 10:012x}", run=run))
    store.create_token(token("plain"))
    assert store.delete_run_tokens("default", "hello", 4) == 2
    assert names(store) == ["other-0", "other-1", "other-2", "other-3", "plain"]
    assert [t.run for t in store.list_run_tokens(None, 10)] == others
    assert store.delete_run_tokens("default", "hello", 4) == 0


def test_delete_run_tokens_of_a_run_without_any_is_zero(store: ports.Store) -> None:
    store.create_token(token())
    assert store.delete_run_tokens("nope", "nope", 1) == 0
    assert names(store) == ["ci"]


@SQL_ONLY
def test_the_row_keeps_the_run_as_namespace_pipeline_run(store: ports.Store, url: str) -> None:
    store.create_token(token("run-4", run=RUN_4))
    store.create_token(token("plain", id_="ba9876543210"))
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(tables.tokens.c.name, tables.tokens.c.run_ref).order_by(
                    tables.tokens.c.name
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("plain", None), ("run-4", "default/hello/4")]
