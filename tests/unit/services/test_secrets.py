"""Secrets as use cases: set, listed without values, revealed, rotated, and missing ones found."""

from __future__ import annotations

import json

import pytest

from hostler import testing
from hostler.core import errors
from hostler.crypto import aesgcm
from hostler.services import audit
from hostler.services import pipelines as pipeline_service
from hostler.services import secrets as secret_service
from hostler.services.context import Context

OLD, NEW = aesgcm.new_key(), aesgcm.new_key()


def keyring(current: str, *previous: str) -> aesgcm.Keyring:
    return aesgcm.Keyring(aesgcm.parse_key(current), [aesgcm.parse_key(k) for k in previous])


@pytest.fixture
def ctx() -> Context:
    made = Context(store=testing.MemoryStore(), logs=testing.MemoryLogStore(), cipher=keyring(OLD))
    env = {"A": "secret{{PW}}", "B": "global_secret{{SHARED}}"}
    pipeline_service.up(
        made, "default", {"id": "p", "tasks": [{"id": "t", "image": "x", "env": env}]}
    )
    return made


def test_a_value_is_stored_encrypted_and_revealed_only_on_request(ctx: Context) -> None:
    made = secret_service.put(ctx, "default", "p", "PW", "hunter2-value")
    assert b"hunter2-value" not in made.ciphertext
    assert secret_service.reveal(ctx, "default", "p", "PW") == "hunter2-value"
    records = audit.list_(ctx, kinds=["secret"]).items
    assert [r.kind for r in records] == ["secret.reveal", "secret.put"]
    assert "hunter2-value" not in json.dumps([r.detail for r in records])


@pytest.mark.parametrize(
    ("name", "value", "namespaces", "field"),
    [
        ("bad-name", "v", (), "name"),
        ("PW", "", (), "value"),
        ("PW", "v", ("team-*",), "namespaces"),
    ],
)
def test_bad_pipeline_secrets_are_refused_and_leave_nothing(
    ctx: Context, name: str, value: str, namespaces: tuple[str, ...], field: str
) -> None:
    with pytest.raises(errors.InvalidArgument) as raised:
        secret_service.put(ctx, "default", "p", name, value, namespaces)
    assert raised.value.field == field
    assert ctx.store.list_secrets("default", "p", None, 10) == []


def test_a_global_secret_needs_namespaces(ctx: Context) -> None:
    with pytest.raises(errors.InvalidArgument, match="usable in no namespace"):
        secret_service.put(ctx, None, None, "SHARED", "value")
    with pytest.raises(errors.InvalidArgument, match="not a valid target pattern"):
        secret_service.put(ctx, None, None, "SHARED", "value", ["Team"])


def test_without_a_key_secrets_cannot_be_set(ctx: Context) -> None:
    keyless = Context(store=ctx.store, logs=ctx.logs)
    with pytest.raises(errors.FailedPrecondition, match="no key") as raised:
        secret_service.put(keyless, "default", "p", "PW", "value")
    assert raised.value.field == "secrets.key"


def test_rotation_encrypts_again_under_the_new_key(ctx: Context) -> None:
    secret_service.put(ctx, "default", "p", "PW", "one-value")
    secret_service.put(ctx, None, None, "SHARED", "two-value", ["*"])
    rotated = Context(store=ctx.store, logs=ctx.logs, cipher=keyring(NEW, OLD))
    assert secret_service.rotate(rotated) == 2
    assert secret_service.rotate(rotated) == 0
    only_new = Context(store=ctx.store, logs=ctx.logs, cipher=keyring(NEW))
    assert secret_service.reveal(only_new, "default", "p", "PW") == "one-value"
    assert secret_service.reveal(only_new, None, None, "SHARED") == "two-value"


def test_missing_secrets_are_those_not_set_or_not_shared(ctx: Context) -> None:
    config = ctx.store.get_version("default", "p", 1).config
    assert [str(r) for r in secret_service.missing(ctx, "default", config)] == [
        "secret{{PW}}",
        "global_secret{{SHARED}}",
    ]
    secret_service.put(ctx, "default", "p", "PW", "value")
    secret_service.put(ctx, None, None, "SHARED", "value", ["team-*"])
    assert [str(r) for r in secret_service.missing(ctx, "default", config)] == [
        "global_secret{{SHARED}}"
    ]
    secret_service.put(ctx, None, None, "SHARED", "value", ["default"])
    assert secret_service.missing(ctx, "default", config) == []


def test_the_plan_of_a_new_version_lists_the_missing_secrets(ctx: Context) -> None:
    data = {"id": "p", "tasks": [{"id": "t", "image": "y", "env": {"A": "secret{{NEW}}"}}]}
    planned = pipeline_service.plan(ctx, "default", data)
    assert planned.plan.missing_secrets == ["secret{{NEW}}"]
    assert "  secret{{NEW}}" in planned.plan.lines()
