"""Durations as people write them and as Hostler stores them (seconds)."""

from __future__ import annotations

import pytest

from hostler.core import durations


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("1d", 86400.0),
        ("250ms", 0.25),
        ("1m30s", 90.0),
        (" 1h 30m ", 5400.0),
        ("90", 90.0),
        (90, 90.0),
        (2.5, 2.5),
    ],
)
def test_parse_returns_seconds(value: object, seconds: float) -> None:
    assert durations.parse(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0s", "greater than zero"),
        (0, "greater than zero"),
        (-5, "greater than zero"),
        ("abc", "'abc' is not a duration"),
        ("", "'' is not a duration"),
        ("5x", "is not a duration"),
        ("1h30", "is not a duration"),
        ("-5s", "is not a duration"),
        ("s", "is not a duration"),
        (True, "a number of seconds or a string"),
        (None, "a number of seconds or a string"),
        ([30], "a number of seconds or a string"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        pytest.param(10**400, "finite", id="huge-int"),
        pytest.param("1" + "0" * 400, "finite", id="huge-string"),
    ],
)
def test_parse_rejects_what_is_not_a_positive_finite_duration(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        durations.parse(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "30s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (3600, "1h"),
        (86401, "1d1s"),
        (0.25, "250ms"),
        (1.5, "1.5s"),
        (61.5, "1m1.5s"),
    ],
)
def test_format_writes_seconds_compactly(seconds: float, text: str) -> None:
    assert durations.format(seconds) == text


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1, 30, 59.5, 90, 3599, 5400, 86400, 90061, 90.1])
def test_parse_of_format_gives_back_the_seconds(seconds: float) -> None:
    assert durations.parse(durations.format(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["250ms", "30s", "1m30s", "1h30m", "2d3h4m5s"])
def test_format_of_parse_gives_back_the_canonical_text(text: str) -> None:
    assert durations.format(durations.parse(text)) == text
