"""``hostler event``: the event log, listed page by page or followed as it grows."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from hostler.cli import common, follow, output

app = typer.Typer(help="Events: the append-only record of every change, to list or follow.")

Kinds = Annotated[
    list[str] | None,
    typer.Option(
        "--kind",
        help="Only events of this kind (run.complete) or family (task.*); repeatable.",
        show_default=False,
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        "-n",
        "--namespace",
        envvar="HOSTLER_NAMESPACE",
        show_envvar=True,
        help="Only events in this namespace; all namespaces by default.",
        show_default=False,
    ),
]
Pipeline = Annotated[
    str | None,
    typer.Option("-p", "--pipeline", help="Only events of this pipeline.", show_default=False),
]
Run = Annotated[
    int | None,
    typer.Option("--run", min=1, help="Only events of runs of this number.", show_default=False),
]

COLUMNS = ["TIME", "ID", "KIND", "SUBJECT", "CHANGE", "REASON"]


class LineFormat(enum.StrEnum):
    """How followed events are printed."""

    TEXT = "text"
    JSON = "json"


def subject(event: Mapping[str, Any]) -> str:
    """Return what an event happened to: ``default/hello#1/fetch``, ``default/hello``, ..."""
    name = str(event.get("namespace") or "-")
    if event.get("pipeline"):
        name += f"/{event['pipeline']}"
    if event.get("run") is not None:
        name += f"#{event['run']}"
    if event.get("task"):
        name += f"/{event['task']}"
        if (event.get("attempt") or 1) > 1:
            name += f" (attempt {event['attempt']})"
    return name


def change(event: Mapping[str, Any]) -> str | None:
    """Return what changed: ``complete failed`` for a state, ``version 1 -> 2`` for a deploy."""
    data = event.get("data") or {}
    if "state" in data:
        state = str(data["state"])
        return f"{state} {data.get('status')}" if state == "complete" else state
    if event.get("kind") == "version.created":
        return f"version {data.get('version')}"
    if event.get("kind") == "pipeline.deployed":
        return f"version {data.get('from') or 'none'} -> {data.get('to')}"
    if event.get("kind") == "pipeline.canary":
        return f"canary of version {data.get('version')} {data.get('state')}"
    return None


def reason(event: Mapping[str, Any]) -> str | None:
    """Return the description of the reason a state change gives, if any."""
    found = (event.get("data") or {}).get("reason") or {}
    return found.get("description") or None


def _style(event: Mapping[str, Any]) -> str:
    data = event.get("data") or {}
    word = data.get("status") if data.get("state") == "complete" else data.get("state")
    return output.status_style(word)


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        COLUMNS,
        (
            [
                output.when(e.get("time")),
                e.get("id"),
                e.get("kind"),
                subject(e),
                Text(change(e) or "-", style=_style(e) if change(e) else "dim"),
                reason(e),
            ]
            for e in items
        ),
    )


def line(event: Mapping[str, Any]) -> Text:
    """Return one event as a line: time, id, kind, subject, change and reason."""
    text = Text()
    text.append(output.when(event.get("time")) or "-", style="dim")
    text.append(f"  #{event.get('id')}  ")
    text.append(str(event.get("kind")), style="bold")
    text.append(f"  {subject(event)}")
    what = change(event)
    if what:
        text.append("  ")
        text.append(what, style=_style(event))
    why = reason(event)
    if why:
        text.append(f"  ({why})")
    return text


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    kind: Kinds = None,
    namespace: Namespace = None,
    pipeline: Pipeline = None,
    run: Run = None,
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List events, oldest first; every filter given must match."""
    with common.client(ctx) as api:
        page = common.page(
            api,
            api.list_events,
            kind=kind,
            namespace=namespace,
            pipeline=pipeline,
            run=run,
            limit=limit,
            cursor=cursor,
            every=every,
        )
    output.show_page(page, fmt, _table)


@app.command("follow")
@common.handles_errors
def follow_events(
    ctx: typer.Context,
    kind: Kinds = None,
    namespace: Namespace = None,
    pipeline: Pipeline = None,
    run: Run = None,
    after: Annotated[
        int | None,
        typer.Option(
            "--after",
            min=0,
            help="Start after this event id; by default with the oldest event kept.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        LineFormat,
        typer.Option(
            "-o",
            "--output",
            help="text: one line per event for people; json: one Event object per line.",
            case_sensitive=False,
        ),
    ] = LineFormat.TEXT,
) -> None:
    """Print events as they are recorded, one line each, until Ctrl-C.

    First come the events kept so far (after --after), then new ones as they happen. A dropped
    connection is resumed where it stopped: no event is missed or printed twice.
    """
    console = output.stdout()
    with common.client(ctx) as api:
        stream = api.follow_events(
            kind=kind, namespace=namespace, pipeline=pipeline, run=run, after=after
        )
        try:
            for event in stream:
                if fmt is LineFormat.JSON:
                    sys.stdout.write(json.dumps(event.json(), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    console.print(line(event.json()), soft_wrap=True)
        except KeyboardInterrupt:
            raise typer.Exit(follow.INTERRUPTED) from None
