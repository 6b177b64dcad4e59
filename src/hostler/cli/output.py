"""How commands show results: Rich tables for people, ``-o json`` and ``-o yaml`` for scripts.

JSON output is exactly what the API answered, so scripts can rely on the API's documentation.
Text that comes from the server (names, descriptions, messages) is never read as Rich markup.
"""

from __future__ import annotations

import datetime
import enum
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any

import typer
import yaml
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text


class Format(enum.StrEnum):
    """An output format."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


OutputFormat = Annotated[
    Format,
    typer.Option(
        "-o",
        "--output",
        help="Output format: a table for people, or json or yaml (the API's answer) for scripts.",
        case_sensitive=False,
    ),
]


def stdout() -> Console:
    """Return a console writing to standard output (made anew, so tests can capture it)."""
    return Console(highlight=False)


def stderr() -> Console:
    """Return a console writing to standard error."""
    return Console(stderr=True, highlight=False)


def error(message: str, *, hint: str | None = None) -> None:
    """Print ``error: <message>`` in red on stderr, and ``hint: <hint>`` when there is one."""
    console = stderr()
    console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
    if hint:
        console.print(Text(f"hint: {hint}", style="yellow"), soft_wrap=True)


def note(message: str, *, hint: str | None = None) -> None:
    """Print a message that is not a result (and a hint) on stderr, in yellow."""
    console = stderr()
    console.print(Text(message, style="yellow"), soft_wrap=True)
    if hint:
        console.print(Text(f"hint: {hint}", style="yellow"), soft_wrap=True)


def say(message: str, *, style: str | None = None) -> None:
    """Print a line of plain text (never markup) on stdout."""
    stdout().print(Text(message, style=style or ""), soft_wrap=True)


def data(value: Any, fmt: Format) -> None:
    """Print ``value`` as JSON or YAML, unchanged."""
    if fmt is Format.YAML:
        text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


def show(value: Any, fmt: Format, render: Callable[[Any], RenderableType]) -> None:
    """Print ``value`` as ``fmt``: for a table, print what ``render`` makes of it."""
    if fmt is Format.TABLE:
        stdout().print(render(value))
    else:
        data(value, fmt)


def cell(value: Any) -> Text:
    """Return a table cell for a JSON value: text as is, ``-`` for null."""
    if value is None or value == "":
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False))
    return Text(str(value))


WRAPPING_COLUMNS = frozenset({"DESCRIPTION", "REASON", "DETAIL", "GRANTS"})
"""Table columns of free text, which wrap when the terminal is narrow."""


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> Table:
    """Return a table with these column headings and rows of JSON values."""
    result = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title, title_justify="left"
    )
    for heading in columns:
        # Free text may wrap; identifiers, states, times and numbers stay on one line.
        result.add_column(heading, no_wrap=heading not in WRAPPING_COLUMNS)
    for row in rows:
        result.add_row(*(value if isinstance(value, Text) else cell(value) for value in row))
    return result


def fields(item: Mapping[str, Any], names: Sequence[str], *, title: str | None = None) -> Table:
    """Return a two-column table of the fields ``names`` of ``item``."""
    result = Table(box=None, show_header=False, title=title, title_justify="left")
    result.add_column(style="bold")
    result.add_column()
    for name in names:
        result.add_row(name, cell(item.get(name)))
    return result


def timestamp(value: str | None) -> datetime.datetime | None:
    """Parse an ISO 8601 timestamp of the API; None stays None."""
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def when(value: str | None) -> str | None:
    """Return an API timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC), or None."""
    moment = timestamp(value)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def seconds(start: str | None, end: str | None) -> float | None:
    """Return the seconds between two API timestamps; until now when ``end`` is None."""
    begun = timestamp(start)
    if begun is None:
        return None
    finished = timestamp(end) or datetime.datetime.now(datetime.UTC)
    return max((finished - begun).total_seconds(), 0.0)


def duration(value: float | None) -> str | None:
    """Return seconds in a short human form: ``3.2s``, ``4m05s``, ``1h02m``."""
    if value is None:
        return None
    if value < 60:
        return f"{value:.1f}s"
    whole = int(value)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def status_style(status: str | None) -> str:
    """Return the Rich style of a state or status word."""
    return {
        "successful": "green",
        "loaded": "green",
        "failed": "red",
        "lost": "red",
        "cancelled": "yellow",
        "skipped": "dim",
        "running": "cyan",
    }.get(status or "", "")


def styled(value: str | None) -> Text:
    """Return a state or status as a table cell coloured by its meaning."""
    if not value:
        return cell(None)
    return Text(value, style=status_style(value))


def show_page(
    page: Mapping[str, Any], fmt: Format, render: Callable[[list[Any]], RenderableType]
) -> None:
    """Print a page of a list; under a table, say how to get the next page if there is one."""
    if fmt is not Format.TABLE:
        data(page, fmt)
        return
    console = stdout()
    console.print(render(list(page["items"])))
    if page.get("next_cursor"):
        console.print(
            Text(f"more: add --cursor {page['next_cursor']} (or --all)", style="dim"),
            soft_wrap=True,
        )
