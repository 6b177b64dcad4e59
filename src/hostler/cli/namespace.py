"""``hostler namespace``: list and create namespaces."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, output

app = typer.Typer(help="Namespaces: the tenancy boundary of pipelines ('default' always exists).")


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["NAME", "DESCRIPTION", "CREATED"],
        ([ns.get("name"), ns.get("description"), output.when(ns.get("created"))] for ns in items),
    )


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List namespaces."""
    with common.client(ctx) as api:
        page = common.page(api, api.list_namespaces, limit=limit, cursor=cursor, every=every)
    output.show_page(page, fmt, _table)


@app.command()
@common.handles_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new namespace.", show_default=False)],
    description: Annotated[
        str | None, typer.Option("-d", "--description", help="What the namespace is for.")
    ] = None,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Create a namespace; creating one that exists with the same description changes nothing."""
    with common.client(ctx) as api:
        answer = api.create_namespace(name, description)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
    elif answer.get("result") == "created":
        output.say(f"namespace '{name}': created")
    else:
        output.say(f"namespace '{name}': unchanged (it exists)")
