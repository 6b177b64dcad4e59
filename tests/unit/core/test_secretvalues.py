"""Secret values where they are used: resolved from the store, or why not (naming them)."""

from __future__ import annotations

import datetime

import pytest

from hostler import testing
from hostler.core import pipelines, reasons, secrets, secretvalues
from hostler.crypto import aesgcm

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def store() -> testing.MemoryStore:
    found = testing.MemoryStore()
    config = pipelines.parse({"id": "p", "tasks": [{"id": "t", "image": "x"}]})
    found.create_version("default", config, pipelines.digest(config), NOW)
    return found


@pytest.fixture
def cipher() -> aesgcm.Keyring:
    return aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key()))


def put(
    store: testing.MemoryStore,
    cipher: aesgcm.Keyring,
    namespace: str | None,
    pipeline: str | None,
    name: str,
    value: str,
    namespaces: tuple[str, ...] = (),
) -> None:
    context = secrets.context_of(namespace, pipeline, name)
    store.put_secret(
        secrets.Secret(
            namespace,
            pipeline,
            name,
            cipher.encrypt(value.encode(), context),
            cipher.key,
            NOW,
            NOW,
            namespaces,
        )
    )


def test_references_are_replaced_and_their_values_masked(
    store: testing.MemoryStore, cipher: aesgcm.Keyring
) -> None:
    put(store, cipher, "default", "p", "PW", "hunter22")
    put(store, cipher, None, None, "TOKEN", "tok-123456", ("def*",))
    env = {"A": "pw=secret{{PW}}", "B": "global_secret{{TOKEN}}", "C": "plain"}
    resolved = secretvalues.resolve(store, cipher, "default", "p", env)
    assert isinstance(resolved, secretvalues.Resolved)
    assert resolved.values == {"A": "pw=hunter22", "B": "tok-123456", "C": "plain"}
    assert resolved.masker.mask("hunter22 tok-123456") == "*** ***"


def test_every_missing_secret_is_named(store: testing.MemoryStore, cipher: aesgcm.Keyring) -> None:
    put(store, cipher, None, None, "ELSEWHERE", "value-1", ("team-*",))
    env = {"A": "secret{{PW}}", "B": "global_secret{{NONE}}", "C": "global_secret{{ELSEWHERE}}"}
    reason = secretvalues.resolve(store, cipher, "default", "p", env)
    assert reason == reasons.Reason(
        reasons.Kind.SECRET_MISSING,
        "secret{{PW}}: not among the secrets of pipeline 'default/p'; "
        "global_secret{{NONE}}: not among global secrets; "
        "global_secret{{ELSEWHERE}}: not shared with namespace 'default'",
    )


def test_without_a_key_or_with_a_lost_one_the_task_cannot_start(
    store: testing.MemoryStore, cipher: aesgcm.Keyring
) -> None:
    put(store, cipher, "default", "p", "PW", "hunter22")
    env = {"A": "secret{{PW}}"}
    reason = secretvalues.resolve(store, None, "default", "p", env)
    assert isinstance(reason, reasons.Reason) and reason.kind is reasons.Kind.SECRET_ERROR
    other = aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key()))
    reason = secretvalues.resolve(store, other, "default", "p", env)
    assert isinstance(reason, reasons.Reason) and reason.kind is reasons.Kind.SECRET_ERROR


def test_an_env_without_references_needs_no_store_or_key(store: testing.MemoryStore) -> None:
    resolved = secretvalues.resolve(store, None, "default", "p", {"A": "x"})
    assert resolved == secretvalues.Resolved({"A": "x"}, secrets.NO_MASK)
