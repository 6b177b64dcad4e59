"""Use cases for extensions: how each stands, and its output."""

from __future__ import annotations

from hostler.core import errors, extensions, ports
from hostler.services.context import Context

MAX_LOG_LINES = 10_000
"""The most lines of an extension's output one request returns."""


def list_(ctx: Context) -> list[extensions.Status]:
    """Return how every installed extension stands, by name (none when none run here)."""
    return ctx.extensions.statuses() if ctx.extensions is not None else []


def forward(ctx: Context, name: str, delivery: extensions.Delivery) -> extensions.Reply:
    """Hand a webhook's ``delivery`` to extension ``name``; return its answer for the sender."""
    return _host(ctx, name).forward(name, delivery)


def log(ctx: Context, name: str, lines: int) -> list[str]:
    """Return the last ``lines`` lines of extension ``name``'s output."""
    if not 1 <= lines <= MAX_LOG_LINES:
        raise errors.InvalidArgument(
            f"lines: {lines} is out of range",
            field="lines",
            hint=f"ask for 1 to {MAX_LOG_LINES} lines",
        )
    return _host(ctx, name).log(name, lines)


def _host(ctx: Context, name: str) -> ports.ExtensionHost:
    if ctx.extensions is None:
        raise errors.NotFound(
            f"extension '{name}': not installed (installed: none)",
            field="name",
            hint="this server runs no extensions",
        )
    return ctx.extensions
