"""``hostler extension``: the installed extensions, how each stands, and their output."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, output

app = typer.Typer(
    help="Extensions: the programs that start runs (schedules, webhooks...) and send "
    "notifications, run and watched by the server."
)


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["NAME", "STATE", "PID", "RESTARTS", "SUBSCRIPTIONS"],
        (
            [e.get("name"), e.get("state"), e.get("pid"), e.get("restarts"), e.get("subscriptions")]
            for e in items
        ),
    )


@app.command("list")
@common.handles_errors
def list_(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List the installed extensions, with how each stands."""
    with common.client(ctx) as api:
        answer = api.list_extensions()
    if fmt is output.Format.TABLE and not answer.get("items"):
        output.say("No extensions run on this server.")
        return
    output.show(answer, fmt, lambda found: _table(found.get("items", [])))


@app.command()
@common.handles_errors
def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The extension, e.g. cron.", show_default=False)],
    lines: Annotated[
        int, typer.Option("-n", "--lines", min=1, max=10_000, help="How many of the last lines.")
    ] = 100,
) -> None:
    """Print the last lines of an extension's output (JSON lines, of every process it ran)."""
    with common.client(ctx) as api:
        answer = api.extension_log(name, lines)
    for line in answer.get("lines", []):
        typer.echo(line)
