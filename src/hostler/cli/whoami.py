"""``hostler whoami``: who the server takes the caller for, and what they may do."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import RenderableType

from hostler.cli import common, output, role


def _fields(caller: Any) -> RenderableType:
    shown = {
        **caller,
        "token": caller.get("token") or "none (the server is in development mode)",
        "grants": role.describe_all(caller.get("grants") or []),
    }
    return output.fields(shown, ["name", "token", "grants"])


@common.handles_errors
def whoami(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """Show who the server takes you for: the token's name and id, and what it may do."""
    with common.client(ctx) as api:
        caller = api.whoami()
    output.show(caller, fmt, _fields)
