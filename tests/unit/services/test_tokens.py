"""Tokens and roles as use cases: made, refused, disabled, deleted, audited, authenticated."""

from __future__ import annotations

import datetime
import os
import pathlib
import stat

import pytest

from hostler import bootstrap, testing
from hostler.core import access, errors, history
from hostler.services import audit, roles, tokens
from hostler.services.context import Context

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(clock: Clock) -> Context:
    return Context(
        store=testing.MemoryStore(), logs=testing.MemoryLogStore(), clock=clock, actor="root"
    )


def test_a_token_authenticates_with_the_grants_of_its_roles(ctx: Context) -> None:
    made = tokens.create(ctx, "ci", ["namespace-reader:team-*"])
    principal = tokens.authenticate(ctx, made.text)
    assert (principal.name, principal.token) == ("ci", made.token.id)
    assert principal.allows(access.Kind.RUNS, access.Action.READ, "team-a")
    assert not principal.allows(access.Kind.RUNS, access.Action.RUN, "team-a")
    assert made.token.created_by == "root"
    assert made.text not in repr(ctx.store.get_token(made.token.id))


def test_the_first_admin_token_is_made_once(ctx: Context) -> None:
    first = tokens.bootstrap(ctx)
    assert first is not None and first.token.roles == ("admin",)
    assert tokens.bootstrap(ctx) is None
    assert [t.name for t in ctx.store.list_tokens(None, 10)] == ["admin"]


def test_the_server_writes_the_first_token_for_its_user_only(
    ctx: Context, tmp_path: pathlib.Path
) -> None:
    path = bootstrap.first_token(ctx, tmp_path)
    assert path == tmp_path / bootstrap.ADMIN_TOKEN_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert tokens.authenticate(ctx, path.read_text().strip()).name == "admin"
    assert bootstrap.first_token(ctx, tmp_path) is None


@pytest.mark.parametrize(
    ("name", "roles", "field"),
    [
        ("Bad", ["admin"], "name"),
        ("hostler", ["admin"], "name"),
        ("ci", [], "roles"),
        ("ci", ["namespace-owner"], "roles"),
        ("ci", ["ghost"], "role"),
    ],
)
def test_bad_tokens_are_refused_and_recorded_as_failed(
    ctx: Context, name: str, roles: list[str], field: str
) -> None:
    with pytest.raises(errors.HostlerError) as raised:
        tokens.create(ctx, name, roles)
    assert raised.value.field == field
    assert ctx.store.list_tokens(None, 10) == []
    (record,) = audit.list_(ctx, kinds=["token"]).items
    assert (record.kind, record.outcome) == ("token.create", history.Outcome.FAILED)


def test_a_token_cannot_expire_before_it_is_made(ctx: Context) -> None:
    with pytest.raises(errors.InvalidArgument, match="expire before it is made"):
        tokens.create(ctx, "ci", ["admin"], expires=T0)


def test_names_are_unique(ctx: Context) -> None:
    tokens.create(ctx, "ci", ["admin"])
    with pytest.raises(errors.AlreadyExists):
        tokens.create(ctx, "ci", ["admin"])


def test_disabled_expired_and_deleted_tokens_do_not_authenticate(
    ctx: Context, clock: Clock
) -> None:
    made = tokens.create(ctx, "ci", ["admin"], expires=T0 + HOUR)
    assert tokens.set_disabled(ctx, made.token.id, True)[1] is True
    assert tokens.set_disabled(ctx, made.token.id, True)[1] is False
    with pytest.raises(errors.Unauthenticated, match="'ci': disabled"):
        tokens.authenticate(ctx, made.text)
    tokens.set_disabled(ctx, made.token.id, False)
    assert tokens.authenticate(ctx, made.text).name == "ci"
    clock.now = T0 + HOUR
    with pytest.raises(errors.Unauthenticated, match="'ci': expired at 2026-03-01 13:00:00 UTC"):
        tokens.authenticate(ctx, made.text)
    tokens.delete(ctx, made.token.id)
    with pytest.raises(errors.Unauthenticated, match="token: not valid"):
        tokens.authenticate(ctx, made.text)
    kinds = [r.kind for r in audit.list_(ctx, kinds=["token"]).items]
    assert kinds == [
        "token.delete",
        "token.enable",
        "token.disable",
        "token.disable",
        "token.create",
    ]


def test_a_deleted_role_grants_nothing_any_more(ctx: Context) -> None:
    grant = access.Grant(frozenset({access.Kind.RUNS}), frozenset({access.Action.RUN}), "ci-*")
    roles.create(ctx, "runner", "Starts runs in CI namespaces", [grant])
    made = tokens.create(ctx, "bot", ["runner"])
    assert tokens.authenticate(ctx, made.text).allows(access.Kind.RUNS, access.Action.RUN, "ci-x")
    assert [r.name for r in roles.list_(ctx)] == [
        "admin",
        "namespace-owner",
        "namespace-reader",
        "namespace-runner",
        "runner",
    ]
    roles.delete(ctx, "runner")
    assert tokens.authenticate(ctx, made.text).grants == ()


def test_roles_refuse_built_in_names_and_empty_grants(ctx: Context) -> None:
    grant = access.Grant(frozenset({access.Kind.RUNS}), frozenset({access.Action.RUN}), "*")
    with pytest.raises(errors.AlreadyExists, match="built-in"):
        roles.create(ctx, "admin", "", [grant])
    with pytest.raises(errors.InvalidArgument, match="at least one grant"):
        roles.create(ctx, "empty", "", [])
    with pytest.raises(errors.FailedPrecondition, match="built in"):
        roles.delete(ctx, "namespace-owner")
