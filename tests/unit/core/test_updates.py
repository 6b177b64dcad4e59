"""Update plans of extensions installed from images, checked against golden files: an upgrade,
``Up-to-date.``, a downgrade refused without --allow-downgrade, the same version refused
without --force-same-version, and pins that track their major's newest version."""

from __future__ import annotations

import os
import pathlib

import pytest

from hostler.core import errors, updates

GOLDEN = pathlib.Path(__file__).parent / "golden" / "updates"


def images(name: str, *versions: str) -> list[updates.Image]:
    return [updates.Image(f"hostler-ext-{name}:{v}", updates.parse(v)) for v in versions]


SLACK = images("slack", "1.0.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0-rc.1")
INSTALLED = updates.Installed("slack", "hostler-ext-slack:1.2.0", updates.parse("1.2.0"), None, 3)


def golden(name: str, lines: list[str]) -> None:
    """Compare ``lines`` with the golden file ``name``; HOSTLER_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get("HOSTLER_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs:\n{text}"


def refusal(exc: errors.HostlerError) -> list[str]:
    return [f"error: {exc.message}", f"hint: {exc.hint}"]


def test_an_update_goes_to_the_newest_version_and_counts_the_subscriptions() -> None:
    change = updates.update(INSTALLED, SLACK, updates.Request())
    golden("upgrade", updates.Plan([change]).lines())
    assert change.to_dict() == {
        "extension": "slack",
        "action": "upgrade",
        "from_version": "1.2.0",
        "to_version": "2.0.0",  # the prerelease is not taken unasked
        "image": "hostler-ext-slack:2.0.0",
        "pin": None,
        "subscriptions": 3,
    }


def test_nothing_newer_is_up_to_date() -> None:
    newest = updates.Installed("slack", "hostler-ext-slack:2.0.0", updates.parse("2.0.0"))
    plan = updates.Plan([updates.update(newest, SLACK, updates.Request())])
    assert plan.up_to_date
    golden("up-to-date", plan.lines())
    assert updates.available(newest, SLACK) == []


def test_a_downgrade_is_refused_without_allow_downgrade() -> None:
    request = updates.Request.parse("1.0.0")
    with pytest.raises(errors.FailedPrecondition) as refused:
        updates.update(INSTALLED, SLACK, request)
    assert refused.value.field == "version"
    golden("downgrade-refused", refusal(refused.value))

    allowed = updates.update(INSTALLED, SLACK, request, allow_downgrade=True)
    golden("downgrade-allowed", updates.Plan([allowed]).lines())


def test_the_same_version_is_refused_without_force_same_version() -> None:
    request = updates.Request.parse("1.2.0")
    with pytest.raises(errors.FailedPrecondition) as refused:
        updates.update(INSTALLED, SLACK, request)
    golden("same-version-refused", refusal(refused.value))

    forced = updates.update(INSTALLED, SLACK, request, force_same_version=True)
    golden("same-version-forced", updates.Plan([forced]).lines())
    # no other flag unlocks either case
    with pytest.raises(errors.FailedPrecondition):
        updates.update(INSTALLED, SLACK, request, allow_downgrade=True)
    with pytest.raises(errors.FailedPrecondition):
        updates.update(INSTALLED, SLACK, updates.Request.parse("1.0.0"), force_same_version=True)


def test_a_pin_tracks_the_newest_minor_version_of_its_major() -> None:
    pinned = updates.Installed(
        "slack", "hostler-ext-slack:1.0.0", updates.parse("1.0.0"), pin=1, subscriptions=1
    )
    change = updates.update(pinned, SLACK, updates.Request())
    assert (str(change.to_version), change.pin) == ("1.3.0", 1)
    golden("pinned", updates.Plan([change]).lines())
    assert [str(i.version) for i in updates.available(pinned, SLACK)] == ["1.3.0", "1.2.0"]

    # asking for a major pins to it
    repinned = updates.update(INSTALLED, SLACK, updates.Request.parse("2"))
    assert (str(repinned.to_version), repinned.pin) == ("2.0.0", 2)


def test_update_all_plans_every_extension_and_is_up_to_date_only_when_each_is() -> None:
    cron = updates.Installed("cron-plus", "hostler-ext-cron-plus:0.9.0", updates.parse("0.9.0"))
    plan = updates.update_all(
        [INSTALLED, cron],
        {"slack": SLACK, "cron-plus": images("cron-plus", "0.9.0")},
    )
    golden("all", plan.lines())
    assert [c["action"] for c in plan.to_dict()["changes"]] == ["none", "upgrade"]


def test_a_version_the_engine_does_not_have_is_not_found() -> None:
    with pytest.raises(errors.NotFound) as missing:
        updates.update(INSTALLED, SLACK, updates.Request.parse("1.9.0"))
    assert missing.value.hint == (
        "versions on the engine: 1.0.0, 1.2.0, 1.3.0, 2.0.0, 2.1.0-rc.1; "
        "build or pull the image first"
    )
    with pytest.raises(errors.InvalidArgument):
        updates.Request.parse("latest")
    golden("install", updates.install("slack", SLACK, updates.Request.parse("1")).lines())


def test_a_pin_asked_for_on_the_newest_version_is_a_change_of_its_own() -> None:
    newest = updates.Installed("slack", "hostler-ext-slack:2.0.0", updates.parse("2.0.0"), None, 1)
    change = updates.update(newest, SLACK, updates.Request.parse("2"))
    assert (change.action, change.pin, change.image) == (
        updates.Action.PIN,
        2,
        "hostler-ext-slack:2.0.0",
    )
    golden("pin-only", updates.Plan([change]).lines())
    pinned = updates.Installed("slack", "hostler-ext-slack:2.0.0", updates.parse("2.0.0"), 2, 1)
    assert updates.Plan([updates.update(pinned, SLACK, updates.Request.parse("2"))]).up_to_date
