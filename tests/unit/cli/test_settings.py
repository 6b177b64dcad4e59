"""An extension's settings from the command line: ``--set`` values read as YAML where JSON can
hold them, dotted keys, flags over a file's settings, and the one-line summary of a table."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from hostler.cli import settings


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30s", "30s"),
        ("false", False),
        ("5", 5),
        ("0.5", 0.5),
        ("null", None),
        ("", ""),
        ("[a, b]", ["a", "b"]),
        ("{url: x}", {"url": "x"}),
        ("https://x.example/a?b=c", "https://x.example/a?b=c"),
        ("secret{{TOKEN}}", "secret{{TOKEN}}"),
        # not valid YAML, or not what JSON holds: the text as given
        ("*/5 * * * *", "*/5 * * * *"),
        ("{{TOKEN}}", "{{TOKEN}}"),
        ("2025-03-01", "2025-03-01"),
        (".inf", ".inf"),
        ("[2025-03-01]", "[2025-03-01]"),
        ("a: b: c", "a: b: c"),
    ],
)
def test_a_flags_value_is_yaml_when_json_can_hold_it_else_its_text(text: str, value: Any) -> None:
    assert settings.value(text) == value


def test_flags_go_on_top_of_the_base_in_order_and_dotted_keys_nest() -> None:
    base: dict[str, Any] = {"webhook": {"url": "a", "retries": 1}, "on": ["failure"]}
    chosen = settings.parse(
        ["webhook.url=b", "email.to.first=x", "on=[success]", "webhook.url=c"], base
    )
    assert chosen == {
        "webhook": {"url": "c", "retries": 1},
        "on": ["success"],
        "email": {"to": {"first": "x"}},
    }
    assert base == {"webhook": {"url": "a", "retries": 1}, "on": ["failure"]}


def test_a_value_can_be_replaced_by_an_object_only_through_a_whole_value() -> None:
    assert settings.parse(["a=1", "a={b: 2}"]) == {"a": {"b": 2}}
    with pytest.raises(typer.BadParameter, match="setting 'a' is not an object"):
        settings.parse(["a=1", "a.b=2"])
    with pytest.raises(typer.BadParameter, match=r"setting 'a\.b' is not an object"):
        settings.parse(["a.b=1", "a.b.c=2"])


@pytest.mark.parametrize("flag", ["every", "=1", ".a=1", "a.=1", "a..b=1"])
def test_a_flag_without_a_key_and_value_is_refused(flag: str) -> None:
    with pytest.raises(typer.BadParameter, match="is not KEY=VALUE"):
        settings.parse([flag])


def test_no_flags_and_no_base_are_no_settings() -> None:
    assert settings.parse(None) == {}


def test_the_summary_is_one_line_of_dotted_keys_cut_to_its_width() -> None:
    chosen = {"every": "30s", "jitter": False, "webhook": {"url": "u", "h": {}}, "n": None}
    assert settings.summary(chosen) == "every=30s jitter=false webhook.url=u webhook.h={} n=null"
    assert settings.summary({"text": "x" * 100}, width=20) == "text=" + "x" * 14 + "…"
    assert settings.summary({}) == ""
