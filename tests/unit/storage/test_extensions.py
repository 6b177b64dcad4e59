"""Extensions installed from images in every Store: put whole (an update replaces them), got,
listed by name and deleted; their configuration comes back as given."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from hostler.core import errors, images, ports, updates

from .conftest import NOW


def installed(name: str = "slack", version: str = "1.3.0", **changes: object) -> images.Installed:
    """Return an extension installed from ``hostler-ext-NAME:VERSION``."""
    made = images.Installed(
        name=name,
        image=f"hostler-ext-{name}:{version}",
        image_id=f"sha256:{name}{version}",
        version=updates.parse(version),
        pin=None,
        config={"TOKEN": "xoxb-secret", "channel": "#ops ✓"},
        installed=NOW,
        installed_by="alice",
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def test_put_returns_the_extension_and_get_round_trips_it(store: ports.Store) -> None:
    made = installed(pin=1, version="1.3.0-rc.1+build.5")
    assert store.put_extension(made) == made
    found = store.get_extension("slack")
    assert found == made
    assert found.version == updates.parse("1.3.0-rc.1+build.5")
    assert found.installed.tzinfo is not None
    assert dict(found.config) == {"TOKEN": "xoxb-secret", "channel": "#ops ✓"}


def test_put_replaces_the_extension_of_that_name_whole(store: ports.Store) -> None:
    store.put_extension(installed())
    later = NOW + datetime.timedelta(hours=1)
    newer = installed(version="2.0.0", pin=2, config={}, installed=later, installed_by="bob")
    assert store.put_extension(newer) == newer
    assert store.get_extension("slack") == newer
    assert store.list_extensions(None, 10) == [newer]


def test_extensions_are_listed_by_name_in_pages(store: ports.Store) -> None:
    for name in ("slack", "cron-plus", "pager"):
        store.put_extension(installed(name))
    assert [e.name for e in store.list_extensions(None, 10)] == ["cron-plus", "pager", "slack"]
    assert [e.name for e in store.list_extensions(None, 2)] == ["cron-plus", "pager"]
    assert [e.name for e in store.list_extensions("pager", 2)] == ["slack"]


def test_delete_removes_the_extension_and_a_missing_one_is_not_found(
    store: ports.Store,
) -> None:
    store.put_extension(installed())
    store.delete_extension("slack")
    assert store.list_extensions(None, 10) == []
    with pytest.raises(errors.NotFound) as missing:
        store.get_extension("slack")
    assert missing.value.message == "extension 'slack': not installed from an image"
    assert missing.value.field == "name"
    with pytest.raises(errors.NotFound):
        store.delete_extension("slack")


def test_what_the_store_returns_is_not_changed_by_changing_what_was_put(
    store: ports.Store,
) -> None:
    config = {"TOKEN": "a"}
    store.put_extension(installed(config=config))
    config["TOKEN"] = "b"
    assert dict(store.get_extension("slack").config) == {"TOKEN": "a"}
