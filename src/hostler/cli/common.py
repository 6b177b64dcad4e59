"""What every command shares: its options, its client, and how expected errors end it.

Commands reach the server only through ``hostler.sdk.client``, at the URL and with the token
that the environment or the current context give (``contexts``). Expected errors (the server's
answers, bad files, bad settings) end a command with ``error: ...`` on stderr and exit status 1;
``handles_errors`` does that, so every command is decorated with it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import httpx
import typer

from hostler.cli import contexts, output
from hostler.core import errors
from hostler.sdk import client as sdk

P = ParamSpec("P")
R = TypeVar("R")

Namespace = Annotated[
    str,
    typer.Option(
        "-n",
        "--namespace",
        envvar="HOSTLER_NAMESPACE",
        help="Namespace of the pipeline.",
        show_envvar=True,
    ),
]
Limit = Annotated[
    int, typer.Option("--limit", min=1, max=500, help="Items per page asked of the server.")
]
Cursor = Annotated[
    str | None,
    typer.Option("--cursor", help="Start at this page (the next_cursor of a previous list)."),
]
All = Annotated[bool, typer.Option("--all", help="Walk every page and show all items as one list.")]


class Failure(Exception):
    """An expected failure of a command, to be shown as ``error: <message>`` (and a hint)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclasses.dataclass
class State:
    """What commands get from their caller through the Typer context (``ctx.obj``).

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``); ``poll_interval``
    is seconds between polls while following a run; ``sleep`` is how a command waits.
    """

    transport: httpx.BaseTransport | None = None
    poll_interval: float = 0.5
    sleep: Callable[[float], None] = time.sleep


def state(ctx: typer.Context) -> State:
    """Return the state passed to the application, or the default one."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def client(ctx: typer.Context) -> sdk.Client:
    """Return a client of the server the environment or the context names (``contexts``)."""
    found = contexts.resolve(os.environ)
    # An empty token, not None: the client must not read HOSTLER_TOKEN again behind our back.
    return sdk.Client(found.url, found.token or "", transport=state(ctx).transport)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Make expected errors in ``func`` print ``error: ...`` on stderr and exit with status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except sdk.ApiError as exc:
            message = exc.detail
            if exc.field and exc.field not in message:
                message = f"{message} (field '{exc.field}')"
            output.error(message, hint=exc.hint)
        except errors.HostlerError as exc:
            output.error(exc.message, hint=exc.hint)
        except Failure as exc:
            output.error(exc.message, hint=exc.hint)
        raise typer.Exit(1)

    return wrapper


def confirm(question: str, *, refused: str, hint: str, declined: str) -> bool:
    """Ask ``question`` (default no) on the terminal; True to go on.

    Without a terminal nobody can answer, so the command fails with ``refused`` and ``hint``; a
    person who declines is told ``declined``.
    """
    if not sys.stdin.isatty():
        raise Failure(refused, hint=hint)
    if typer.confirm(question, default=False, err=True):
        return True
    output.say(declined)
    return False


def parse_variables(values: list[str] | None) -> dict[str, str]:
    """Turn ``KEY=VALUE`` flags into a mapping; ``KEY=`` is an empty value.

    Raises ``typer.BadParameter`` (a usage error, exit status 2) for a flag without ``=`` or
    without a key.
    """
    variables: dict[str, str] = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(
                f"'{value}' is not KEY=VALUE (use KEY= for an empty value)", param_hint="'--var'"
            )
        variables[key] = text
    return variables


def page(
    api: sdk.Client,
    list_page: Callable[..., sdk.Json],
    *args: object,
    limit: int,
    cursor: str | None,
    every: bool,
    **filters: Any,
) -> sdk.Json:
    """Return one page of a list, or with ``every`` all its items as one page.

    ``filters`` are passed to ``list_page``. Either way the result has the API's page shape:
    ``{"items": [...], "next_cursor": ...}``.
    """
    if every:
        items = list(api.iterate(list_page, *args, limit=limit, **filters))
        return {"items": items, "next_cursor": None}
    return list_page(*args, cursor=cursor, limit=limit, **filters)
