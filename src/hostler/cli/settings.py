"""An extension's settings from the command line: a YAML or JSON file (``--settings``), and
``--set KEY=VALUE`` flags on top of it.

A flag's value is read as YAML, as the same value in a pipeline file would be: ``30s`` stays text,
``false`` is a boolean, ``5`` a number, ``[a, b]`` a list. Text that is not valid YAML, or that
YAML would read as something JSON cannot hold (a date), stays the text given, so a cron
schedule such as ``*/5 * * * *`` needs no quotes. A dotted key (``webhook.url=...``) sets a
setting of a nested object.
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
import yaml

from hostler.cli import common

SUFFIXES = (".yaml", ".yml", ".json")
"""The file types ``read`` understands; ``-`` is standard input, read as YAML."""


def read(path: pathlib.Path) -> dict[str, Any]:
    """Return the settings in ``path`` (``-``: standard input), a YAML or JSON object; raise
    ``common.Failure`` saying what is wrong."""
    where = "standard input" if str(path) == "-" else f"settings file '{path}'"
    if str(path) == "-":
        if sys.stdin.isatty():
            raise common.Failure(
                "standard input is a terminal, not the settings",
                hint="pipe them in (... | hostler pipeline subscribe ... --settings -), or give "
                "a file",
            )
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise common.Failure(f"{where}: cannot be read ({exc})") from None
    else:
        if path.suffix.lower() not in SUFFIXES:
            raise common.Failure(
                f"{where}: unknown type '{path.suffix or path.name}'",
                hint="a settings file ends in .yaml, .yml or .json, or give - for standard input",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise common.Failure(f"{where}: cannot be read ({reason})") from None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise common.Failure(f"{where}: not valid YAML or JSON ({_first_line(exc)})") from None
    if value is None:
        return {}
    if not isinstance(value, dict) or not _is_json(value):
        raise common.Failure(
            f"{where}: the settings must be an object of JSON values",
            hint="write them by name, e.g. 'every: 30s'",
        )
    return value


def parse(flags: Sequence[str] | None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return ``base`` (left unchanged) with the ``KEY=VALUE`` flags set on top, in order.

    Raises ``typer.BadParameter`` (a usage error, exit status 2) for a flag without ``=``, with
    an empty part in its key, or whose key goes through a setting that is not an object.
    """
    settings: dict[str, Any] = json.loads(json.dumps(base or {}))
    for flag in flags or []:
        key, sep, text = flag.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise typer.BadParameter(
                f"'{flag}' is not KEY=VALUE (a dotted KEY such as webhook.url sets a nested "
                "setting)",
                param_hint="'--set'",
            )
        place = settings
        for depth, part in enumerate(parts[:-1]):
            inner = place.setdefault(part, {})
            if not isinstance(inner, dict):
                raise typer.BadParameter(
                    f"'{flag}': setting '{'.'.join(parts[: depth + 1])}' is not an object",
                    param_hint="'--set'",
                )
            place = inner
        place[parts[-1]] = value(text)
    return settings


def value(text: str) -> Any:
    """Return the value of a ``--set`` flag: ``text`` read as YAML when it is a JSON value, else
    ``text`` itself; an empty ``text`` is empty text."""
    if not text:
        return ""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return parsed if _is_json(parsed) else text


def _is_json(value: Any) -> bool:
    """Tell whether ``value`` is what JSON holds: no dates, no infinities, text keys."""
    if isinstance(value, datetime.date):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return value is None or isinstance(value, str | int | bool)


def _first_line(exc: yaml.YAMLError) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def summary(settings: dict[str, Any], width: int = 60) -> str:
    """Return ``settings`` on one line for a table: ``every=30s jitter=false``, nested ones by
    dotted key, cut to ``width`` characters."""
    text = " ".join(f"{key}={_text(item)}" for key, item in _flat(settings))
    return text if len(text) <= width else text[: width - 1] + "…"


def _flat(settings: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, item in settings.items():
        if isinstance(item, dict) and item:
            found.extend(_flat(item, f"{prefix}{key}."))
        else:
            found.append((f"{prefix}{key}", item))
    return found


def _text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
