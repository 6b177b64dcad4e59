"""Extensions installed from images: planned and installed from the engine's labelled images,
updated one by one or all at once within their pin, the two guards, what is available, removal,
and the audit record of each."""

from __future__ import annotations

import dataclasses
import datetime
import types

import pytest

from hostler import testing
from hostler.core import errors, history, images, updates
from hostler.crypto import aesgcm
from hostler.sdk.extension import entrypoints
from hostler.services import installs, pipelines, secrets, subscriptions, tokens
from hostler.services.context import Context

T0 = datetime.datetime(2025, 7, 1, 12, 0, tzinfo=datetime.UTC)


def labels(name: str, version: str) -> dict[str, str]:
    return {images.NAME_LABEL: name, images.VERSION_LABEL: version}


@pytest.fixture
def engine() -> testing.FakeScheduler:
    """Return a fake engine with slack 1.0.0 to 2.1.0-rc.1, and an image that is no extension."""
    scheduler = testing.FakeScheduler()
    for version in ("1.0.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0-rc.1"):
        scheduler.add_image(f"hostler-ext-slack:{version}", labels("slack", version))
    scheduler.add_image("busybox:stable", {})
    return scheduler


@pytest.fixture
def ctx(engine: testing.FakeScheduler) -> Context:
    return Context(
        store=testing.MemoryStore(),
        logs=testing.MemoryLogStore(),
        images=engine.images,
        clock=lambda: T0,
        actor="alice",
        cipher=keyring(OLD),
    )


OLD, NEW = aesgcm.new_key(), aesgcm.new_key()


def keyring(current: str, *previous: str) -> aesgcm.Keyring:
    return aesgcm.Keyring(aesgcm.parse_key(current), [aesgcm.parse_key(k) for k in previous])


def records(ctx: Context, kind: str) -> list[history.Record]:
    return list(reversed(ctx.store.list_history(history.Filter(kinds=(kind,)), None, 100)))


def subscribe(ctx: Context, extension: str, pipeline: str = "hello", count: int = 1) -> None:
    """Make ``count`` triggers of a live pipeline subscribe to ``extension``."""
    triggers = [{"extension": extension, "id": f"t{n}"} for n in range(count)]
    config = {"id": pipeline, "tasks": [{"id": "t", "image": "x"}], "triggers": triggers}
    pipelines.up(ctx, "default", config)


def test_install_from_a_repository_takes_its_newest_version_and_keeps_the_config(
    ctx: Context,
) -> None:
    planned = installs.plan_install(ctx, "slack", "hostler-ext-slack")
    assert planned.plan.lines()[1] == '  install "slack" 2.0.0 from hostler-ext-slack:2.0.0'
    assert ctx.store.list_extensions(None, 10) == []

    done = installs.install(ctx, "slack", "hostler-ext-slack", config={"TOKEN": "xoxb-1"})

    [made] = done.changed
    assert made == ctx.store.get_extension("slack")
    assert (made.image, str(made.version), made.pin) == ("hostler-ext-slack:2.0.0", "2.0.0", None)
    assert made.image_id.startswith("sha256:")
    assert (made.installed, made.installed_by, list(made.config)) == (T0, "alice", ["TOKEN"])
    assert made.config["TOKEN"].startswith(images.SEALED)  # encrypted at rest
    assert "xoxb-1" not in made.config["TOKEN"]
    assert installs.config_of(ctx, made) == {"TOKEN": "xoxb-1"}
    [record] = records(ctx, "extension.install")
    assert record.target == "slack" and record.outcome is history.Outcome.SUCCEEDED
    assert record.detail == {
        "image": "hostler-ext-slack:2.0.0",
        "from_version": None,
        "to_version": "2.0.0",
        "pin": None,
        "config": ["TOKEN"],
    }
    assert "xoxb-1" not in str(record.detail)


def test_install_of_a_reference_takes_that_image_and_a_major_version_pins(ctx: Context) -> None:
    made = installs.install(ctx, "slack", "hostler-ext-slack:1.2.0").changed[0]
    assert (str(made.version), made.pin) == ("1.2.0", None)
    installs.remove(ctx, "slack")
    pinned = installs.install(ctx, "slack", "hostler-ext-slack", "1").changed[0]
    assert (str(pinned.version), pinned.pin) == ("1.3.0", 1)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("ghost", "image 'ghost': no extension image of that reference or repository"),
        ("hostler-ext-other:1.0.0", "image 'hostler-ext-other:1.0.0': not an extension image"),
        ("hostler-ext-bad:1", "image 'hostler-ext-bad:1': not an extension image (its version"),
        ("hostler-ext-chat:1.0.0", f"its label {images.NAME_LABEL} is 'chat', not 'slack'"),
    ],
)
def test_an_image_that_is_no_extension_image_of_that_name_is_refused_naming_image(
    ctx: Context, engine: testing.FakeScheduler, image: str, message: str
) -> None:
    engine.add_image("hostler-ext-other:1.0.0", {images.NAME_LABEL: "Not A Name"})
    engine.add_image("hostler-ext-bad:1", labels("slack", "one"))
    engine.add_image("hostler-ext-chat:1.0.0", labels("chat", "1.0.0"))
    with pytest.raises(errors.InvalidArgument) as refused:
        installs.install(ctx, "slack", image)
    assert refused.value.field == "image"
    assert message in refused.value.message
    assert refused.value.hint
    assert ctx.store.list_extensions(None, 10) == []
    [record] = records(ctx, "extension.install")
    assert record.outcome is history.Outcome.FAILED


def test_install_refuses_a_name_taken_by_a_python_extension_or_an_installed_one(
    ctx: Context, engine: testing.FakeScheduler
) -> None:
    engine.add_image("hostler-ext-cron:1.0.0", labels("cron", "1.0.0"))
    with pytest.raises(errors.AlreadyExists) as builtin:
        installs.install(ctx, "cron", "hostler-ext-cron:1.0.0")
    assert builtin.value.field == "name"
    installs.install(ctx, "slack", "hostler-ext-slack:1.0.0")
    with pytest.raises(errors.AlreadyExists) as again:
        installs.install(ctx, "slack", "hostler-ext-slack")
    assert again.value.message == (
        "extension 'slack': installed already (slack 1.0.0 (hostler-ext-slack:1.0.0))"
    )


@pytest.mark.parametrize(
    ("name", "config", "field"),
    [
        ("Slack", {}, "name"),
        ("slack", {"1BAD": "x"}, "config"),
        ("slack", {"token": "a", "TOKEN": "b"}, "config.TOKEN"),
    ],
)
def test_a_bad_name_or_config_is_refused_with_its_field(
    ctx: Context, name: str, config: dict[str, str], field: str
) -> None:
    with pytest.raises(errors.InvalidArgument) as refused:
        installs.install(ctx, name, "hostler-ext-slack", config=config)
    assert refused.value.field == field


def test_update_goes_to_the_newest_version_and_counts_the_subscriptions(ctx: Context) -> None:
    installs.install(ctx, "slack", "hostler-ext-slack:1.2.0", config={"TOKEN": "x"})
    subscribe(ctx, "slack", count=2)
    subscribe(ctx, "pager", pipeline="other")

    planned = installs.plan_update(ctx, "slack")
    assert planned.plan.lines() == [
        "This update will make the following changes:",
        '  upgrade "slack" from 1.2.0 to 2.0.0 (hostler-ext-slack:2.0.0; 2 subscriptions affected)',
        "",
        "1 extension changed, 2 subscriptions affected.",
    ]
    done = installs.update(ctx, "slack")
    [after] = done.changed
    assert (after.image, str(after.version), installs.config_of(ctx, after)) == (
        "hostler-ext-slack:2.0.0",
        "2.0.0",
        {"TOKEN": "x"},
    )
    [record] = records(ctx, "extension.update")
    assert record.detail == {
        "version": None,
        "action": "upgrade",
        "from_version": "1.2.0",
        "to_version": "2.0.0",
    }


def test_an_update_with_nothing_newer_is_up_to_date_and_recorded_unchanged(ctx: Context) -> None:
    installs.install(ctx, "slack", "hostler-ext-slack")
    assert installs.plan_update(ctx, "slack").plan.lines() == [updates.UP_TO_DATE]
    assert installs.update(ctx, "slack").changed == []
    [record] = records(ctx, "extension.update")
    assert record.outcome is history.Outcome.UNCHANGED


def test_a_downgrade_and_the_same_version_are_refused_but_for_their_own_flag(
    ctx: Context,
) -> None:
    installs.install(ctx, "slack", "hostler-ext-slack:1.2.0")
    with pytest.raises(errors.FailedPrecondition) as down:
        installs.update(ctx, "slack", "1.0.0")
    assert down.value.field == "version"
    with pytest.raises(errors.FailedPrecondition):
        installs.update(ctx, "slack", "1.2.0", allow_downgrade=True)
    assert str(ctx.store.get_extension("slack").version) == "1.2.0"
    assert [r.outcome for r in records(ctx, "extension.update")] == [history.Outcome.FAILED] * 2

    again = installs.update(ctx, "slack", "1.2.0", force_same_version=True)
    assert again.plan.changes[0].action is updates.Action.REINSTALL
    older = installs.update(ctx, "slack", "1.0.0", allow_downgrade=True).changed[0]
    assert str(older.version) == "1.0.0"


def test_a_pinned_extension_updates_within_its_major(ctx: Context) -> None:
    installs.install(ctx, "slack", "hostler-ext-slack", "1.0.0")
    installs.update(ctx, "slack", "1")
    assert (
        str(ctx.store.get_extension("slack").version),
        ctx.store.get_extension("slack").pin,
    ) == (
        "1.3.0",
        1,
    )
    assert installs.plan_update(ctx, "slack").plan.up_to_date
    [found] = installs.available(ctx)
    assert found.newer == []


def test_pinning_the_newest_version_stores_the_pin_and_keeps_the_image(ctx: Context) -> None:
    made = installs.install(ctx, "slack", "hostler-ext-slack").changed[0]
    assert (str(made.version), made.pin) == ("2.0.0", None)
    [pinned] = installs.update(ctx, "slack", "2").changed
    assert (pinned.image_id, pinned.installed, pinned.pin) == (made.image_id, made.installed, 2)
    assert installs.plan_update(ctx, "slack", "2").plan.up_to_date
    assert records(ctx, "extension.update")[-1].detail["action"] == "pin"


def test_update_all_plans_every_extension_and_applies_those_that_change(
    ctx: Context, engine: testing.FakeScheduler
) -> None:
    engine.add_image("hostler-ext-pager:0.9.0", labels("pager", "0.9.0"))
    installs.install(ctx, "slack", "hostler-ext-slack:1.0.0")
    installs.install(ctx, "pager", "hostler-ext-pager:0.9.0")

    [pager, slack] = installs.available(ctx)
    assert (pager.extension.name, pager.newer) == ("pager", [])
    assert [str(i.version) for i in slack.newer] == ["2.0.0", "1.3.0", "1.2.0"]

    done = installs.update_all(ctx)
    assert [c.action for c in done.plan.changes] == [updates.Action.NONE, updates.Action.UPGRADE]
    assert [str(e.version) for e in done.changed] == ["2.0.0"]
    assert installs.plan_update_all(ctx).plan.lines() == [updates.UP_TO_DATE]
    assert installs.update_all(ctx).changed == []
    [record, unchanged] = records(ctx, "extension.update")
    assert record.target == "*"
    assert record.detail["changes"] == [
        {"extension": "slack", "action": "upgrade", "from_version": "1.0.0", "to_version": "2.0.0"}
    ]
    assert unchanged.outcome is history.Outcome.UNCHANGED


def test_remove_forgets_the_extension_and_is_audited(ctx: Context) -> None:
    installs.install(ctx, "slack", "hostler-ext-slack:1.3.0")
    gone = installs.remove(ctx, "slack")
    assert str(gone.version) == "1.3.0"
    assert installs.list_(ctx) == []
    with pytest.raises(errors.NotFound):
        installs.remove(ctx, "slack")
    assert [
        (r.outcome, r.detail.get("from_version")) for r in records(ctx, "extension.remove")
    ] == [
        (history.Outcome.SUCCEEDED, "1.3.0"),
        (history.Outcome.FAILED, None),
    ]


def test_remove_drops_the_subscriptions_made_by_hand_and_the_token_and_wakes_the_host(
    ctx: Context,
) -> None:
    woken: list[str] = []
    host = types.SimpleNamespace(wake=lambda: woken.append("wake"))
    ctx = dataclasses.replace(ctx, extensions=host)
    installs.install(ctx, "slack", "hostler-ext-slack:1.3.0")
    subscribe(ctx, "slack")  # from the file: stays in its version
    subscriptions.create(ctx, "default", "hello", "by-hand", "slack", {})
    subscriptions.create(ctx, "default", "hello", "other", "pager", {})
    tokens.for_extension(ctx, "slack")
    installs.remove(ctx, "slack")
    assert [s.key for s in ctx.store.list_all_subscriptions(None, 10)] == ["other"]
    assert [e.key for e in subscriptions.list_(ctx, "default", "hello")] == ["t0", "other"]
    assert [t.name for t in ctx.store.list_tokens(None, 10)] == []
    [record] = records(ctx, "extension.remove")
    assert record.detail["subscriptions_removed"] == ["default/hello/by-hand"]
    assert woken == ["wake", "wake"]  # the install, then the removal


def test_config_needs_a_key_and_follows_its_rotation(ctx: Context) -> None:
    keyless = dataclasses.replace(ctx, cipher=None)
    with pytest.raises(errors.FailedPrecondition) as refused:
        installs.install(keyless, "slack", "hostler-ext-slack", config={"TOKEN": "xoxb-1"})
    assert refused.value.field == "secrets.key"
    assert installs.list_(ctx) == []
    installs.install(keyless, "slack", "hostler-ext-slack")  # nothing to encrypt: no key needed
    installs.remove(ctx, "slack")

    installs.install(ctx, "slack", "hostler-ext-slack", config={"TOKEN": "xoxb-1", "ROOM": "ops"})
    rotated = dataclasses.replace(ctx, cipher=keyring(NEW, OLD))
    assert secrets.rotate(rotated) == 2
    assert secrets.rotate(rotated) == 0
    only_new = dataclasses.replace(ctx, cipher=keyring(NEW))
    extension = installs.get(only_new, "slack")
    assert installs.config_of(only_new, extension) == {"TOKEN": "xoxb-1", "ROOM": "ops"}
    with pytest.raises(errors.FailedPrecondition):
        installs.config_of(ctx, extension)  # the old key alone no longer decrypts it


def test_config_kept_before_it_was_encrypted_is_read_as_it_is_and_sealed_by_a_rotation(
    ctx: Context,
) -> None:
    installs.install(ctx, "slack", "hostler-ext-slack")
    extension = dataclasses.replace(installs.get(ctx, "slack"), config={"TOKEN": "xoxb-1"})
    ctx.store.put_extension(extension)
    assert installs.config_of(ctx, extension) == {"TOKEN": "xoxb-1"}
    assert secrets.rotate(ctx) == 1
    sealed = installs.get(ctx, "slack")
    assert sealed.config["TOKEN"].startswith(images.SEALED)
    assert installs.config_of(ctx, sealed) == {"TOKEN": "xoxb-1"}


def test_a_server_without_images_offers_none(engine: testing.FakeScheduler) -> None:
    ctx = Context(store=testing.MemoryStore(), logs=testing.MemoryLogStore())
    with pytest.raises(errors.InvalidArgument) as refused:
        installs.plan_install(ctx, "slack", "hostler-ext-slack")
    assert refused.value.field == "image"
    assert installs.available(ctx) == []


def test_the_entry_point_group_is_the_sdks() -> None:
    assert entrypoints.GROUP == "hostler.extensions"
    assert {"interval", "cron", "webhook", "notify"} <= installs.python_extensions()
