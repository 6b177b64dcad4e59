"""Settings: the event log's retention, written as a duration or as "keep forever"."""

from __future__ import annotations

import pathlib

import pytest

from hostler import config
from hostler.core import errors


def test_events_are_kept_thirty_days_by_default() -> None:
    assert config.Settings().events.retention == 30 * 86400


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("7d", 7 * 86400.0),
        ("1h30m", 5400.0),
        (3600, 3600.0),
        ("0", None),
        (0, None),
        ("none", None),
    ],
)
def test_retention_is_a_duration_or_zero_or_none_for_forever(
    written: object, seconds: float | None
) -> None:
    loaded = config.load(overrides={"events": {"retention": written}})
    assert loaded.events.retention == seconds


def test_retention_comes_from_the_environment_too() -> None:
    loaded = config.load(environ={"HOSTLER_EVENTS__RETENTION": "12h"})
    assert loaded.events.retention == 12 * 3600.0


@pytest.mark.parametrize("written", ["soon", -5, "0s", True])
def test_a_bad_retention_is_an_error_naming_the_setting(written: object) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        config.load(overrides={"events": {"retention": written}})
    assert caught.value.field == "events.retention"


def test_the_default_file_documents_the_retention_and_loads_back(tmp_path: pathlib.Path) -> None:
    text = config.default_file()
    section = text.split("[events]\n", 1)[1]
    assert section.splitlines()[2] == 'retention = "30d"'
    assert "0 or 'none' keeps them forever" in section
    path = tmp_path / "hostler.toml"
    path.write_text(text)
    assert config.load(path).events == config.Events()
