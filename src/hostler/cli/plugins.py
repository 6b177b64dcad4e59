"""``hostler plugins``: the plug-ins installed beside this command, and whether each loads.

This looks at the Python environment the command runs in (entry points), not at a server: run it
where the server runs to see what the server can load.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import RenderableType

from hostler import plugins
from hostler.cli import common, output

app = typer.Typer(help="Plug-ins (scheduler backends, ...) installed in this Python environment.")


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["FAMILY", "NAME", "STATUS", "PROVIDED BY", "DESCRIPTION"],
        (
            [p["family"], p["name"], output.styled(p["status"]), p["target"], p["description"]]
            for p in items
        ),
    )


@app.command("list")
@common.handles_errors
def list_(fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List every installed plug-in with its load status (loaded, or the error that stopped it)."""
    items = [
        {
            "family": entry.family,
            "name": entry.name,
            "target": entry.target,
            "status": "loaded" if entry.plugin else "failed",
            "description": entry.plugin.description if entry.plugin else entry.error,
        }
        for family in plugins.FAMILIES
        for entry in plugins.discover(family)
    ]
    output.show(items, fmt, _table)
