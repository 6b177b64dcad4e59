"""Subscriptions: those a version's file makes, those made by hand, their checks and the
pipelines they follow."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from hostler.core import errors, pipelines, subscriptions

NOW = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def invalid(key: str, extension: str, settings: Any) -> errors.InvalidArgument:
    with pytest.raises(errors.InvalidArgument) as caught:
        subscriptions.check_manual(key, extension, settings)
    return caught.value


def test_a_subscription_made_by_hand_is_known_by_the_id_a_trigger_would_have() -> None:
    made = subscriptions.Manual(
        "team-a", "build", "nightly", "cron", {"schedule": "0 2 * * *"}, NOW, "alice"
    )
    assert (
        made.id
        == "team-a/build/nightly"
        == subscriptions.subscription_id("team-a", "build", "nightly")
    )
    assert made.ref == "team-a/build:nightly"
    assert made.subscription() == subscriptions.Subscription(
        "team-a/build/nightly", "cron", "team-a", "build", {"schedule": "0 2 * * *"}
    )
    assert made.entry() == subscriptions.Entry(
        "nightly",
        "cron",
        {"schedule": "0 2 * * *"},
        subscriptions.Source.MANUAL,
        created=NOW,
        created_by="alice",
    )


def test_a_versions_triggers_then_notifications_are_entries_from_the_file() -> None:
    config = pipelines.parse(
        {
            "id": "build",
            "tasks": [{"id": "t", "image": "x"}],
            "triggers": [{"extension": "interval", "settings": {"every": "1m"}}],
            "notifications": [{"extension": "notify", "id": "tell", "settings": {"on": "x"}}],
        }
    )
    version = pipelines.Version("default", "build", 3, pipelines.digest(config), config, NOW)
    assert subscriptions.entries_of(version) == [
        subscriptions.Entry("interval", "interval", {"every": "1m"}, subscriptions.Source.FILE, 3),
        subscriptions.Entry("tell", "notify", {"on": "x"}, subscriptions.Source.FILE, 3),
    ]


def test_valid_subscriptions_pass_the_checks() -> None:
    subscriptions.check_manual("every-minute", "interval", {"every": "1m", "jitter": False})
    subscriptions.check_manual("cron", "cron", {"schedule": "*/5 * * * *"})
    subscriptions.check_manual("tell", "notify", {"webhook": {"url": "https://x"}, "n": [1]})
    subscriptions.check_manual("hook", "webhook", {})


@pytest.mark.parametrize(
    ("key", "extension", "settings", "field", "message"),
    [
        ("x", "Bad_Ext", {}, "extension", "extension 'Bad_Ext': not a valid identifier"),
        ("x", "", {}, "extension", "extension: must not be empty"),
        ("Nightly", "cron", {}, "id", "subscription 'Nightly': not a valid identifier"),
        ("x" * 64, "cron", {}, "id", f"subscription '{'x' * 64}': not a valid identifier"),
        ("x", "notify", ["a"], "settings", "subscription 'x': settings must be an object"),
        ("x", "notify", {1: "a"}, "settings", "subscription 'x': settings must be an object"),
        ("x", "interval", {}, "settings.every", "subscription 'x': every: needed"),
        (
            "x",
            "interval",
            {"every": "soon"},
            "settings.every",
            "subscription 'x': every: 'soon' is not a duration; write it like '30s', '5m' or "
            "'1h30m'",
        ),
        (
            "x",
            "interval",
            {"every": "1m", "jitter": "no"},
            "settings.jitter",
            "subscription 'x': jitter: must be true or false",
        ),
        (
            "x",
            "cron",
            {"schedule": "0 2 * *"},
            "settings.schedule",
            "subscription 'x': schedule '0 2 * *': not five fields",
        ),
        (
            "x",
            "cron",
            {"schedule": "0 2 * * *", "timezone": "Mars/Base"},
            "settings.timezone",
            "subscription 'x': timezone 'Mars/Base': not known",
        ),
        (
            "x",
            "cron",
            {"schedule": "0 2 * * *", "often": True},
            "settings.often",
            "subscription 'x': setting 'often': not known",
        ),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(
    key: str, extension: str, settings: Any, field: str, message: str
) -> None:
    error = invalid(key, extension, settings)
    assert (error.field, error.message) == (field, message)
    assert error.hint


@pytest.mark.parametrize(
    ("extension", "settings", "followed"),
    [
        ("pipeline", {"pipeline": "team-b/build"}, "team-b"),
        ("pipeline", {"pipeline": "build"}, "team-a"),
        ("pipeline", {}, None),
        ("pipeline", {"pipeline": 3}, None),
        ("interval", {"pipeline": "team-b/build"}, None),
    ],
)
def test_upstream_is_the_namespace_a_pipeline_subscription_follows(
    extension: str, settings: dict[str, Any], followed: str | None
) -> None:
    assert subscriptions.upstream("team-a", extension, settings) == followed
