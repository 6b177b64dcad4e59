"""Roles in every Store: the roles admins make, created with their grants, listed by name and
deleted; never changed."""

from __future__ import annotations

import datetime
import json

import pytest
import sqlalchemy as sa

from hostler.core import access, errors, ports
from hostler.storage import database, tables

from .conftest import SQL_ONLY

Kind = access.Kind
Action = access.Action
Grant = access.Grant


def role(name: str = "deployers", *grants: Grant, description: str = "") -> access.Role:
    """Return a role with ``grants``, or one grant to read and run pipelines in ``team-*``."""
    chosen = grants or (
        Grant(
            frozenset({Kind.RUNS, Kind.PIPELINES}), frozenset({Action.RUN, Action.READ}), "team-*"
        ),
    )
    return access.Role(name, description or f"The {name}.", chosen)


def names(store: ports.Store, after: str | None = None, limit: int = 100) -> list[str]:
    """Return the names of the roles listed, in the order listed."""
    return [r.name for r in store.list_roles(after, limit)]


def test_create_returns_the_role_and_get_round_trips_its_grants_exactly(
    store: ports.Store,
) -> None:
    made = role(
        "operators",
        Grant(frozenset(Kind), frozenset(Action), "*"),
        Grant(frozenset({Kind.LOGS}), frozenset({Action.READ}), "team-a"),
        Grant(frozenset({Kind.SECRETS, Kind.EVENTS}), frozenset({Action.WRITE, Action.DELETE})),
        description="Run things.\nAnd read the logs: 'quoted' \"too\" ✓",
    )
    assert store.create_role(made) == made
    found = store.get_role("operators")
    assert found == made
    assert [(g.kinds, g.actions, g.pattern) for g in found.grants] == [
        (frozenset(Kind), frozenset(Action), "*"),
        (frozenset({Kind.LOGS}), frozenset({Action.READ}), "team-a"),
        (frozenset({Kind.SECRETS, Kind.EVENTS}), frozenset({Action.WRITE, Action.DELETE}), "*"),
    ]
    assert all(isinstance(k, Kind) for g in found.grants for k in g.kinds)
    assert all(isinstance(a, Action) for g in found.grants for a in g.actions)


def test_a_role_without_grants_round_trips(store: ports.Store) -> None:
    empty = access.Role("nobody", "Grants nothing.", ())
    assert store.create_role(empty) == empty
    assert store.get_role("nobody") == empty


def test_a_stored_role_is_never_builtin(store: ports.Store) -> None:
    given = access.Role("admins", "Claims to be built in.", role().grants, builtin=True)
    created = store.create_role(given)
    assert not created.builtin
    assert (
        store.get_role("admins")
        == created
        == access.Role("admins", given.description, given.grants)
    )


def test_list_orders_roles_by_name_and_pages_after_a_name(store: ports.Store) -> None:
    for name in ["deployers", "auditors", "ci", "builders", "zeta"]:
        store.create_role(role(name))
    assert names(store) == ["auditors", "builders", "ci", "deployers", "zeta"]
    assert names(store, None, 2) == ["auditors", "builders"]
    assert names(store, "builders", 2) == ["ci", "deployers"]
    assert names(store, "deployers", 2) == ["zeta"]
    assert names(store, "zeta", 2) == []
    assert store.list_roles(None, 1) == [role("auditors")]


def test_list_of_no_roles_is_empty(store: ports.Store) -> None:
    assert store.list_roles(None, 10) == []


def test_delete_removes_the_role_and_deleting_again_is_not_found(store: ports.Store) -> None:
    store.create_role(role("deployers"))
    store.create_role(role("auditors"))
    store.delete_role("deployers")
    assert names(store) == ["auditors"]
    with pytest.raises(errors.NotFound) as caught:
        store.delete_role("deployers")
    assert caught.value.message == "role 'deployers': not found"
    assert caught.value.field == "role"
    assert caught.value.hint == "list the roles to see which exist"


def test_get_of_a_missing_role_is_not_found(store: ports.Store) -> None:
    with pytest.raises(errors.NotFound) as caught:
        store.get_role("admin")
    assert caught.value.message == "role 'admin': not found"
    assert caught.value.field == "role"
    assert caught.value.hint == "list the roles to see which exist"


def test_a_name_taken_is_already_exists_and_writes_nothing(store: ports.Store) -> None:
    first = store.create_role(role("deployers"))
    with pytest.raises(errors.AlreadyExists) as caught:
        store.create_role(role("deployers", Grant(frozenset(Kind), frozenset(Action))))
    assert caught.value.message == "role 'deployers': already exists"
    assert caught.value.field == "name"
    assert caught.value.hint == "choose another name, or delete the role first"
    assert store.list_roles(None, 10) == [first]


def test_the_name_of_a_deleted_role_can_be_taken_again(store: ports.Store) -> None:
    store.create_role(role("deployers"))
    store.delete_role("deployers")
    again = role("deployers", Grant(frozenset({Kind.HISTORY}), frozenset({Action.READ})))
    store.create_role(again)
    assert store.get_role("deployers") == again


@SQL_ONLY
def test_grants_are_kept_as_json_in_enum_order_with_the_time_made(
    store: ports.Store, url: str
) -> None:
    before = datetime.datetime.now(datetime.UTC)
    # Orders where the enums' and the alphabet's differ.
    kinds = frozenset({Kind.LOGS, Kind.RUNS, Kind.NAMESPACES})
    store.create_role(role("deployers", Grant(kinds, frozenset(Action), "team-*")))
    after = datetime.datetime.now(datetime.UTC)
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.select(tables.roles)).one()
    finally:
        engine.dispose()
    assert json.loads(row.grants) == [
        {
            "kinds": ["namespaces", "runs", "logs"],
            "actions": ["read", "write", "delete", "run", "admin"],
            "pattern": "team-*",
        }
    ]
    assert row.created.tzinfo == datetime.UTC
    assert before <= row.created <= after
