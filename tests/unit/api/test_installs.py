"""Extensions installed from images over the API: install and update with plans and dry runs,
the guards as 409s naming ``version``, images that are no extension images as 422s naming
``image``, what is available, removal, and configuration values never returned."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi import testclient

from hostler import config, testing
from hostler.api import app
from hostler.core import images
from hostler.crypto import aesgcm
from hostler.services.context import Context

from .conftest import API, assert_problem

INSTALLED = f"{API}/extensions/installed"


@pytest.fixture
def engine() -> testing.FakeScheduler:
    scheduler = testing.FakeScheduler()
    for version in ("1.0.0", "1.2.0", "2.0.0"):
        labels = {images.NAME_LABEL: "slack", images.VERSION_LABEL: version}
        scheduler.add_image(f"hostler-ext-slack:{version}", labels)
    scheduler.add_image("hostler-ext-bad:1", {images.NAME_LABEL: "bad"})
    return scheduler


@pytest.fixture
def api(
    ctx: Context, settings: config.Settings, engine: testing.FakeScheduler
) -> Iterator[testclient.TestClient]:
    keys = aesgcm.Keyring(aesgcm.parse_key(aesgcm.new_key()))
    with testclient.TestClient(
        app.create(dataclasses.replace(ctx, images=engine.images, cipher=keys), settings)
    ) as client:
        yield client


def test_a_dry_run_plans_the_install_and_changes_nothing(api: testclient.TestClient) -> None:
    answer = api.post(
        INSTALLED, json={"name": "slack", "image": "hostler-ext-slack", "dry_run": True}
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found.pop("planned").startswith("sha256:")
    assert found == {
        "plan": {
            "up_to_date": False,
            "changes": [
                {
                    "extension": "slack",
                    "action": "install",
                    "from_version": None,
                    "to_version": "2.0.0",
                    "image": "hostler-ext-slack:2.0.0",
                    "pin": None,
                    "subscriptions": 0,
                }
            ],
            "text": [
                "This install will make the following changes:",
                '  install "slack" 2.0.0 from hostler-ext-slack:2.0.0',
                "",
                "1 extension changed, 0 subscriptions affected.",
            ],
        },
        "applied": False,
        "extensions": [],
    }
    assert api.get(INSTALLED).json() == {"items": []}


def test_install_keeps_the_config_but_never_returns_its_values(
    api: testclient.TestClient,
) -> None:
    body = {
        "name": "slack",
        "image": "hostler-ext-slack",
        "version": "1",
        "config": {"TOKEN": "xoxb-9"},
    }
    answer = api.post(INSTALLED, json=body)
    assert answer.status_code == 201, answer.text
    [made] = answer.json()["extensions"]
    assert (made["version"], made["pin"], made["config_keys"]) == ("1.2.0", 1, ["TOKEN"])
    assert answer.json()["applied"] is True
    for url in (INSTALLED, f"{INSTALLED}/slack"):
        shown = api.get(url)
        assert shown.status_code == 200 and "xoxb-9" not in shown.text
    assert api.get(f"{INSTALLED}/slack").json()["installed_by"] == "anonymous"
    history = api.get(f"{API}/history", params={"kind": "extension.install"})
    assert "xoxb-9" not in history.text
    assert_problem(api.post(INSTALLED, json=body), 409, "already_exists", field="name")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"image": "ghost"}, 422, "invalid_argument", "image"),
        ({"image": "hostler-ext-bad:1", "name": "bad"}, 422, "invalid_argument", "image"),
        ({"name": "chat"}, 422, "invalid_argument", "image"),
        ({"name": "Slack"}, 422, "invalid_argument", "name"),
        ({"name": "cron"}, 409, "already_exists", "name"),
        ({"version": "9.0.0"}, 404, "not_found", "version"),
        ({"version": "latest"}, 422, "invalid_argument", "version"),
        ({"config": {"9": "x"}}, 422, "invalid_argument", "config"),
        ({"config": {"A": 1}}, 422, "invalid_argument", "config.A"),
        ({"image": ""}, 422, "invalid_argument", "image"),
        ({"extra": True}, 422, "invalid_argument", "extra"),
    ],
)
def test_bad_installs_are_refused_with_the_field(
    api: testclient.TestClient, body: dict[str, object], status: int, code: str, field: str
) -> None:
    answer = api.post(INSTALLED, json={"name": "slack", "image": "hostler-ext-slack", **body})
    assert_problem(answer, status, code, field=field)
    assert api.get(INSTALLED).json() == {"items": []}


def test_update_plans_applies_and_refuses_a_downgrade_naming_version(
    api: testclient.TestClient,
) -> None:
    api.post(INSTALLED, json={"name": "slack", "image": "hostler-ext-slack:1.0.0"})
    url = f"{INSTALLED}/slack/update"
    dry = api.post(url, json={"dry_run": True}).json()
    assert dry["plan"]["text"][1] == (
        '  upgrade "slack" from 1.0.0 to 2.0.0 (hostler-ext-slack:2.0.0; 0 subscriptions affected)'
    )
    assert api.get(f"{INSTALLED}/slack").json()["version"] == "1.0.0"
    done = api.post(url, json={})
    assert done.status_code == 200, done.text
    assert [e["version"] for e in done.json()["extensions"]] == ["2.0.0"]
    again = api.post(url, json={}).json()
    assert again["plan"]["text"] == ["Up-to-date."]
    assert (again["plan"]["up_to_date"], again["extensions"]) == (True, [])

    down = assert_problem(
        api.post(url, json={"version": "1.0.0"}), 409, "failed_precondition", field="version"
    )
    assert down["hint"] == "add --allow-downgrade to go back to an older version"
    same = assert_problem(
        api.post(url, json={"version": "2.0.0"}), 409, "failed_precondition", field="version"
    )
    assert same["hint"] == "add --force-same-version to install it again"
    allowed = api.post(url, json={"version": "1.0.0", "allow_downgrade": True})
    assert allowed.json()["plan"]["changes"][0]["action"] == "downgrade"
    assert_problem(api.post(f"{INSTALLED}/ghost/update", json={}), 404, "not_found", field="name")


def test_update_all_and_what_is_available(api: testclient.TestClient) -> None:
    assert api.get(f"{API}/extensions/available").json() == {"items": [], "up_to_date": True}
    api.post(INSTALLED, json={"name": "slack", "image": "hostler-ext-slack:1.0.0"})
    available = api.get(f"{API}/extensions/available").json()
    assert available == {
        "items": [
            {
                "name": "slack",
                "version": "1.0.0",
                "pin": None,
                "newer": [
                    {"version": "2.0.0", "image": "hostler-ext-slack:2.0.0"},
                    {"version": "1.2.0", "image": "hostler-ext-slack:1.2.0"},
                ],
            }
        ],
        "up_to_date": False,
    }
    dry = api.post(f"{API}/extensions/update", json={"dry_run": True}).json()
    assert dry["applied"] is False and dry["plan"]["changes"][0]["to_version"] == "2.0.0"
    done = api.post(f"{API}/extensions/update", json={}).json()
    assert [e["version"] for e in done["extensions"]] == ["2.0.0"]
    assert api.get(f"{API}/extensions/available").json()["up_to_date"] is True


def test_remove_forgets_the_extension(api: testclient.TestClient) -> None:
    api.post(INSTALLED, json={"name": "slack", "image": "hostler-ext-slack"})
    assert api.delete(f"{INSTALLED}/slack").status_code == 204
    assert_problem(api.get(f"{INSTALLED}/slack"), 404, "not_found", field="name")
    assert_problem(api.delete(f"{INSTALLED}/slack"), 404, "not_found", field="name")


def test_a_plan_that_changed_since_it_was_shown_is_refused_naming_planned(
    api: testclient.TestClient, engine: testing.FakeScheduler
) -> None:
    body = {"name": "slack", "image": "hostler-ext-slack"}
    shown = api.post(INSTALLED, json={**body, "dry_run": True}).json()["planned"]
    engine.add_image(
        "hostler-ext-slack:2.1.0", {images.NAME_LABEL: "slack", images.VERSION_LABEL: "2.1.0"}
    )
    assert_problem(
        api.post(INSTALLED, json={**body, "planned": shown}), 409, "conflict", field="planned"
    )
    assert api.get(INSTALLED).json() == {"items": []}
    again = api.post(INSTALLED, json={**body, "dry_run": True}).json()
    applied = api.post(INSTALLED, json={**body, "planned": again["planned"]})
    assert applied.status_code == 201, applied.text
    assert applied.json()["planned"] == again["planned"]
    assert applied.json()["extensions"][0]["version"] == "2.1.0"

    update = f"{INSTALLED}/slack/update"
    planned = api.post(update, json={"dry_run": True, "version": "1.2.0", "allow_downgrade": True})
    shown = planned.json()["planned"]
    api.post(update, json={"version": "1.0.0", "allow_downgrade": True})
    moved = {"version": "1.2.0", "allow_downgrade": True, "planned": shown}
    assert_problem(api.post(update, json=moved), 409, "conflict", field="planned")
    every = api.post(f"{API}/extensions/update", json={"dry_run": True}).json()["planned"]
    engine.add_image(
        "hostler-ext-slack:2.2.0", {images.NAME_LABEL: "slack", images.VERSION_LABEL: "2.2.0"}
    )
    stale = {"planned": every}
    assert_problem(
        api.post(f"{API}/extensions/update", json=stale), 409, "conflict", field="planned"
    )


def test_a_pin_only_change_is_answered_as_a_pin(api: testclient.TestClient) -> None:
    api.post(INSTALLED, json={"name": "slack", "image": "hostler-ext-slack"})
    answer = api.post(f"{INSTALLED}/slack/update", json={"version": "2"})
    assert answer.status_code == 200, answer.text
    [change] = answer.json()["plan"]["changes"]
    assert (change["action"], change["pin"], change["subscriptions"]) == ("pin", 2, 0)
    assert api.get(f"{INSTALLED}/slack").json()["pin"] == 2
