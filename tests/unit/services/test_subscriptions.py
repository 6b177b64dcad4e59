"""The subscriptions wanted: the triggers of every live version, and only of live versions."""

from __future__ import annotations

from collections.abc import Mapping

from hostler import testing
from hostler.core import subscriptions
from hostler.crypto import aesgcm
from hostler.services import deployments, namespaces, pipelines
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

    secret_service.put(ctx, "default", "build", "HOOK_KEY", "a-long-signing-key-0123")
    [wanted] = subscription_service.wanted(ctx)
    assert wanted.settings == {"secret": "a-long-signing-key-0123", "n": 1}


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
