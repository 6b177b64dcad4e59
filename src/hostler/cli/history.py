"""``hostler history``: the audit history of admin operations."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, output
from hostler.cli.pipeline import short_digest

Time = Annotated[
    datetime.datetime | None,
    typer.Option(
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        help="A UTC date or time, e.g. 2026-12-01 or 2026-12-01T10:00:00.",
        show_default=False,
    ),
]


@common.handles_errors
def history(
    ctx: typer.Context,
    since: Time = None,
    until: Time = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="Only these operations (pipeline.deploy) or families (pipeline); repeatable.",
            show_default=False,
        ),
    ] = None,
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the audit history of admin operations, newest first.

    Every operation on namespaces, versions and deployments, who ran it, when, and how it ended.
    An operation the server stopped in the middle of shows as 'incomplete'.
    """
    with common.client(ctx) as api:
        page = common.page(
            api,
            api.list_history,
            limit=limit,
            cursor=cursor,
            every=every,
            since=_utc(since),
            until=_utc(until),
            kind=kind,
        )
    output.show_page(page, fmt, _table)


def _utc(value: datetime.datetime | None) -> datetime.datetime | None:
    return None if value is None else value.replace(tzinfo=datetime.UTC)


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["ID", "STARTED", "OPERATION", "TARGET", "BY", "OUTCOME", "DETAIL"],
        (
            [
                r.get("id"),
                output.when(r.get("started")),
                r.get("kind"),
                r.get("target"),
                r.get("actor"),
                r.get("outcome") or "in progress",
                r.get("error") or _detail(r.get("detail") or {}),
            ]
            for r in items
        ),
    )


def _detail(detail: dict[str, Any]) -> str:
    """Return the detail as ``key=value`` pairs, digests shortened; ``-o json`` has it whole."""
    return " ".join(
        f"{key}={short_digest(value) if key == 'digest' else _value(value)}"
        for key, value in detail.items()
        if value is not None
    )


def _value(value: Any) -> str:
    """Return ``value`` for a ``key=value`` pair: as JSON, but text without blanks bare."""
    if isinstance(value, str) and value and not any(c.isspace() or c == '"' for c in value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
