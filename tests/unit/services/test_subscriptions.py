"""A pipeline's subscriptions: those of its live version's file and those made by hand, listed,
made and deleted; and the subscriptions wanted, of every pipeline with a live version only."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from hostler import testing
from hostler.core import access, errors, subscriptions
from hostler.crypto import aesgcm
from hostler.services import audit, deployments, namespaces, pipelines
from hostler.services import secrets as secret_service
from hostler.services import subscriptions as subscription_service
from hostler.services.context import Context


def config(pipeline: str, *triggers: Mapping[str, object]) -> dict[str, object]:
    return {"id": pipeline, "tasks": [{"id": "t", "image": "x"}], "triggers": list(triggers)}


def test_every_live_versions_triggers_are_wanted_under_stable_ids() -> None:
    ctx = Context(store=testing.MemoryStore(), logs=testing.MemoryLogStore())
    namespaces.create(ctx, "team-a")
    every = {"extension": "interval", "settings": {"every": "1m"}}
    nightly = {"extension": "cron", "id": "nightly", "settings": {"schedule": "0 2 * * *"}}
    pipelines.up(ctx, "default", config("build", every, nightly))
    pipelines.up(ctx, "team-a", config("report", every))
    pipelines.up(ctx, "default", config("plain"))
    # a registered version that is not live subscribes nothing
    pipelines.register(ctx, "team-a", config("report"))

    assert subscription_service.wanted(ctx) == [
        subscriptions.Subscription(
            "default/build/interval", "interval", "default", "build", {"every": "1m"}
        ),
        subscriptions.Subscription(
            "default/build/nightly", "cron", "default", "build", {"schedule": "0 2 * * *"}
        ),
        subscriptions.Subscription(
            "team-a/report/interval", "interval", "team-a", "report", {"every": "1m"}
        ),
    ]
    deployments.deploy(ctx, "team-a", "report", 2)
    assert [s.id for s in subscription_service.wanted(ctx)] == [
        "default/build/interval",
        "default/build/nightly",
    ]


def test_kept_versions_are_read_once_and_a_deploy_is_seen_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = Context(store=testing.MemoryStore(), logs=testing.MemoryLogStore())
    every = {"extension": "interval", "settings": {"every": "1m"}}
    pipelines.up(ctx, "default", config("build", every))
    pipelines.up(ctx, "default", config("test", every))
    reads: list[tuple[str, int]] = []
    get_version = ctx.store.get_version

    def counted(namespace: str, pipeline: str, version: int) -> Any:
        reads.append((pipeline, version))
        return get_version(namespace, pipeline, version)

    monkeypatch.setattr(ctx.store, "get_version", counted)
    kept = subscription_service.Versions()
    first = subscription_service.wanted(ctx, kept)
    assert subscription_service.wanted(ctx, kept) == first
    assert reads == [("build", 1), ("test", 1)]

    pipelines.up(ctx, "default", config("build", {**every, "settings": {"every": "5m"}}))
    reads.clear()  # deploying reads versions too
    [build, _] = subscription_service.wanted(ctx, kept)
    assert build.settings == {"every": "5m"}
    assert reads == [("build", 2)]

    small = subscription_service.Versions(size=1)  # forgets, and reads again: still right
    for _ in range(2):
        assert subscription_service.wanted(ctx, small) == subscription_service.wanted(ctx)


def test_secrets_in_settings_are_resolved_and_a_missing_one_holds_the_subscription() -> None:
    ctx = Context(
        store=testing.MemoryStore(),
        logs=testing.MemoryLogStore(),
        cipher=aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key())),
    )
    hook = {"extension": "webhook", "settings": {"secret": "secret{{HOOK_KEY}}", "n": 1}}
    pipelines.up(ctx, "default", config("build", hook))
    assert subscription_service.wanted(ctx) == []
    [missing] = secret_service.missing(
        ctx, "default", ctx.store.get_version("default", "build", 1).config
    )
    assert str(missing) == "secret{{HOOK_KEY}}"
    [listed] = subscription_service.list_(ctx, "default", "build")
    assert listed.missing_secrets == ("secret{{HOOK_KEY}}",)

    secret_service.put(ctx, "default", "build", "HOOK_KEY", "a-long-signing-key-0123")
    [wanted] = subscription_service.wanted(ctx)
    assert wanted.settings == {"secret": "a-long-signing-key-0123", "n": 1}
    assert subscription_service.list_(ctx, "default", "build")[0].missing_secrets == ()


def test_notifications_are_wanted_and_secrets_nested_in_their_settings_are_resolved() -> None:
    ctx = Context(
        store=testing.MemoryStore(),
        logs=testing.MemoryLogStore(),
        cipher=aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key())),
    )
    tell = {
        "extension": "notify",
        "settings": {
            "webhook": {"url": "https://chat.example/hook/secret{{CHAT_TOKEN}}"},
            "email": {"to": ["ops@example.com", "global_secret{{ONCALL}}"]},
        },
    }
    data = {**config("build"), "notifications": [tell]}
    pipelines.up(ctx, "default", data)
    missing = secret_service.missing(
        ctx, "default", ctx.store.get_version("default", "build", 1).config
    )
    assert sorted(str(ref) for ref in missing) == [
        "global_secret{{ONCALL}}",
        "secret{{CHAT_TOKEN}}",
    ]
    assert subscription_service.wanted(ctx) == []

    secret_service.put(ctx, "default", "build", "CHAT_TOKEN", "t0k3n")
    secret_service.put(ctx, None, None, "ONCALL", "oncall@example.com", ["default"])
    [wanted] = subscription_service.wanted(ctx)
    assert wanted.id == "default/build/notify"
    assert wanted.settings == {
        "webhook": {"url": "https://chat.example/hook/t0k3n"},
        "email": {"to": ["ops@example.com", "oncall@example.com"]},
    }


# subscriptions made by hand --------------------------------------------------------------------

EVERY = {"extension": "interval", "settings": {"every": "1m"}}
TELL = {"extension": "notify", "id": "tell", "settings": {"on": ["failure"]}}


def fresh(**changes: object) -> Context:
    """Return a context over an empty in-memory store, with a cipher for secrets."""
    ctx = Context(
        store=testing.MemoryStore(),
        logs=testing.MemoryLogStore(),
        cipher=aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key())),
        clock=lambda: T0,
    )
    return dataclasses.replace(ctx, **changes)  # type: ignore[arg-type]


T0 = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def with_notifications(pipeline: str, *triggers: Mapping[str, object]) -> dict[str, object]:
    return {**config(pipeline, EVERY), "notifications": list(triggers)}


def test_subscriptions_made_by_hand_are_wanted_after_the_files_while_the_pipeline_is_live() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build", EVERY))
    pipelines.register(ctx, "default", config("later"))
    subscription_service.create(
        ctx, "default", "build", "nightly", "cron", {"schedule": "0 2 * * *"}
    )
    subscription_service.create(ctx, "default", "build", None, "webhook", {})
    subscription_service.create(ctx, "default", "later", None, "webhook", {})

    assert subscription_service.wanted(ctx) == [
        subscriptions.Subscription(
            "default/build/interval", "interval", "default", "build", {"every": "1m"}
        ),
        subscriptions.Subscription(
            "default/build/nightly", "cron", "default", "build", {"schedule": "0 2 * * *"}
        ),
        subscriptions.Subscription("default/build/webhook", "webhook", "default", "build", {}),
    ]
    # 'later' has no live version: what was made by hand for it waits for its first deploy
    deployments.deploy(ctx, "default", "later", 1)
    assert [s.id for s in subscription_service.wanted(ctx)][-1] == "default/later/webhook"

    subscription_service.delete(ctx, "default", "build", "nightly")
    assert [s.id for s in subscription_service.wanted(ctx)] == [
        "default/build/interval",
        "default/build/webhook",
        "default/later/webhook",
    ]


def test_a_subscription_made_by_hand_stays_whatever_version_is_deployed() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build", EVERY))
    subscription_service.create(ctx, "default", "build", None, "webhook", {"n": 1})
    pipelines.up(ctx, "default", config("build"))
    assert [s.id for s in subscription_service.wanted(ctx)] == ["default/build/webhook"]


def test_secrets_in_the_settings_of_one_made_by_hand_are_resolved_as_the_files_are() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build"))
    settings = {"webhook": {"url": "https://chat.example/secret{{CHAT}}"}, "to": ["x"]}
    made = subscription_service.create(ctx, "default", "build", "tell", "notify", settings)
    assert subscription_service.wanted(ctx) == []  # waits for its secret

    secret_service.put(ctx, "default", "build", "CHAT", "t0k3n")
    [wanted] = subscription_service.wanted(ctx)
    assert wanted.settings == {"webhook": {"url": "https://chat.example/t0k3n"}, "to": ["x"]}
    # what is kept and listed is what was written, never the value
    assert ctx.store.get_subscription("default", "build", "tell").settings == settings
    assert made.settings == settings
    [listed] = subscription_service.list_(ctx, "default", "build")
    assert listed.settings == settings


def test_list_gives_the_files_subscriptions_then_those_made_by_hand_with_their_source() -> None:
    ctx = fresh(actor="alice")
    pipelines.up(ctx, "default", with_notifications("build", TELL))
    subscription_service.create(ctx, "default", "build", "zz", "webhook", {})
    subscription_service.create(ctx, "default", "build", "aa", "webhook", {})

    found = subscription_service.list_(ctx, "default", "build")
    assert [(e.key, e.extension, e.source.value, e.version) for e in found] == [
        ("interval", "interval", "file", 1),
        ("tell", "notify", "file", 1),
        ("aa", "webhook", "manual", None),
        ("zz", "webhook", "manual", None),
    ]
    assert (found[2].created, found[2].created_by) == (T0, "alice")
    assert (found[0].created, found[0].created_by) == (None, None)


def test_list_of_a_pipeline_without_a_live_version_has_only_those_made_by_hand() -> None:
    ctx = fresh()
    pipelines.register(ctx, "default", config("build", EVERY))
    subscription_service.create(ctx, "default", "build", None, "webhook", {})
    assert [e.key for e in subscription_service.list_(ctx, "default", "build")] == ["webhook"]


def test_a_missing_pipeline_is_not_found_everywhere() -> None:
    ctx = fresh()
    calls: list[Callable[[], object]] = [
        lambda: subscription_service.create(ctx, "default", "nope", None, "webhook", {}),
        lambda: subscription_service.list_(ctx, "default", "nope"),
        lambda: subscription_service.delete(ctx, "default", "nope", "webhook"),
    ]
    for call in calls:
        with pytest.raises(errors.NotFound) as caught:
            call()
        assert caught.value.field == "pipeline"


def test_a_key_of_the_live_versions_file_cannot_be_taken_by_hand() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", with_notifications("build", TELL))
    for key, extension in [(None, "interval"), ("tell", "webhook")]:
        with pytest.raises(errors.AlreadyExists) as caught:
            subscription_service.create(ctx, "default", "build", key, extension, {"every": "5m"})
        assert caught.value.field == "id"
        assert "a trigger or notification of version 1 has that key" in caught.value.message
        assert caught.value.hint and "another id" in caught.value.hint
    assert ctx.store.list_subscriptions("default", "build", None, 10) == []


def test_a_key_made_by_hand_cannot_be_taken_twice() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build"))
    subscription_service.create(ctx, "default", "build", None, "webhook", {})
    with pytest.raises(errors.AlreadyExists) as caught:
        subscription_service.create(ctx, "default", "build", "webhook", "notify", {})
    assert caught.value.field == "id"


def test_a_canary_candidates_keys_cannot_be_taken_by_hand_either() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build"))
    pipelines.register(ctx, "default", config("build", EVERY))
    deployments.deploy(ctx, "default", "build", 2, canary=deployments.Canary(10))
    with pytest.raises(errors.AlreadyExists) as caught:
        subscription_service.create(ctx, "default", "build", None, "interval", {"every": "1h"})
    assert "version 2" in caught.value.message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (config("build", {"extension": "webhook"}), "triggers[0].id"),
        (config("build", EVERY, {"extension": "webhook", "id": "hook"}), "triggers[1].id"),
        (with_notifications("build", {"extension": "notify", "id": "hook"}), "notifications[0].id"),
    ],
)
def test_a_file_may_not_take_a_key_made_by_hand_in_register_plan_or_up(
    data: dict[str, object], field: str
) -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build"))
    subscription_service.create(ctx, "default", "build", None, "webhook", {})
    subscription_service.create(ctx, "default", "build", "hook", "webhook", {})
    for call in (pipelines.register, pipelines.plan, pipelines.up):
        with pytest.raises(errors.AlreadyExists) as caught:
            call(ctx, "default", data)
        assert caught.value.field == field
        assert "subscription made by hand with that key" in caught.value.message
        assert caught.value.hint and caught.value.hint.startswith("unsubscribe it")
    assert [v.version for v in ctx.store.list_versions("default", "build", None, 10)] == [1]


def test_a_registered_version_with_a_key_made_by_hand_is_not_deployed() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build"))
    pipelines.register(ctx, "default", config("build", {"extension": "webhook"}))
    subscription_service.create(ctx, "default", "build", None, "webhook", {})
    with pytest.raises(errors.AlreadyExists) as caught:
        deployments.deploy(ctx, "default", "build", 2)
    assert caught.value.field == "triggers[0].id"
    assert caught.value.message.startswith("trigger 'webhook' of version 2:")
    assert ctx.store.get_pipeline("default", "build").live_version == 1

    subscription_service.delete(ctx, "default", "build", "webhook")
    deployments.deploy(ctx, "default", "build", 2)
    assert [s.id for s in subscription_service.wanted(ctx)] == ["default/build/webhook"]


def test_a_key_of_the_file_is_not_deleted_by_hand_and_an_unknown_one_is_not_found() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", with_notifications("build", TELL))
    for key in ("interval", "tell"):
        with pytest.raises(errors.FailedPrecondition) as refused:
            subscription_service.delete(ctx, "default", "build", key)
        assert refused.value.field == "key"
        assert "comes from the pipeline file (version 1)" in refused.value.message
        assert refused.value.hint and "deploy" in refused.value.hint
    with pytest.raises(errors.NotFound) as caught:
        subscription_service.delete(ctx, "default", "build", "nightly")
    assert caught.value.message == "subscription 'nightly' of pipeline 'default/build': not found"
    assert len(subscription_service.wanted(ctx)) == 2


def test_bad_subscriptions_are_refused_before_anything_is_stored() -> None:
    ctx = fresh()
    pipelines.up(ctx, "default", config("build"))
    with pytest.raises(errors.InvalidArgument) as caught:
        subscription_service.create(ctx, "default", "build", None, "interval", {"every": "0s"})
    assert caught.value.field == "settings.every"
    with pytest.raises(errors.InvalidArgument) as caught:
        subscription_service.create(ctx, "default", "build", "No", "webhook", {})
    assert caught.value.field == "id"
    assert ctx.store.list_subscriptions("default", "build", None, 10) == []


def test_each_change_is_in_the_audit_history() -> None:
    ctx = fresh(actor="alice")
    pipelines.up(ctx, "default", config("build", EVERY))
    subscription_service.create(ctx, "default", "build", None, "webhook", {"key": "plain"})
    subscription_service.delete(ctx, "default", "build", "webhook")
    with pytest.raises(errors.FailedPrecondition):
        subscription_service.delete(ctx, "default", "build", "interval")
    records = audit.list_(ctx, kinds=["subscription"]).items
    assert [
        (r.kind, r.target, r.actor, r.outcome.value if r.outcome else None) for r in records
    ] == [
        ("subscription.delete", "default/build/interval", "alice", "failed"),
        ("subscription.delete", "default/build/webhook", "alice", "succeeded"),
        ("subscription.create", "default/build/webhook", "alice", "succeeded"),
    ]
    # settings may hold what is not a secret reference; the history keeps only the extension
    assert records[2].detail == {"extension": "webhook"}


FOLLOW_B = {"pipeline": "team-b/hello"}


def reader_of(*namespaces_: str) -> access.Principal:
    """Return a principal that writes pipelines and reads runs in ``namespaces_`` only."""
    grants = tuple(
        access.Grant(
            frozenset({access.Kind.PIPELINES, access.Kind.RUNS}),
            frozenset({access.Action.READ, access.Action.WRITE}),
            pattern,
        )
        for pattern in namespaces_
    )
    return access.Principal("bob", grants)


def test_one_made_by_hand_follows_another_namespace_only_when_its_runs_are_readable() -> None:
    ctx = fresh()
    namespaces.create(ctx, "team-a")
    namespaces.create(ctx, "team-b")
    pipelines.up(ctx, "team-a", config("after"))
    pipelines.up(ctx, "team-b", config("hello"))

    bob = ctx.acting_as("bob", reader_of("team-a"))
    with pytest.raises(errors.PermissionDenied) as caught:
        subscription_service.create(bob, "team-a", "after", None, "pipeline", FOLLOW_B)
    assert caught.value.field == "settings.pipeline"
    assert caught.value.message == (
        "pipeline 'team-a/after': bob may not follow pipelines of namespace 'team-b'"
    )
    assert caught.value.hint and "namespace-reader:team-b" in caught.value.hint
    assert ctx.store.list_subscriptions("team-a", "after", None, 10) == []

    # its own namespace, by either name; another the principal reads; Hostler itself
    subscription_service.create(bob, "team-a", "after", "own", "pipeline", {"pipeline": "after"})
    own = {"pipeline": "team-a/after"}
    subscription_service.create(bob, "team-a", "after", "own-too", "pipeline", own)
    both = ctx.acting_as("bob", reader_of("team-a", "team-b"))
    subscription_service.create(both, "team-a", "after", "b", "pipeline", FOLLOW_B)
    subscription_service.create(ctx, "team-a", "after", "by-hostler", "pipeline", FOLLOW_B)
    found = ctx.store.list_subscriptions("team-a", "after", None, 10)
    assert [s.key for s in found] == ["b", "by-hostler", "own", "own-too"]
