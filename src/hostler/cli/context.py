"""``hostler context``: named servers and their tokens, so that commands need no environment.

See ``contexts`` for the file and for which server and token a command uses.
"""

from __future__ import annotations

import os
import pathlib
import sys
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from hostler.cli import common, contexts, output
from hostler.core import errors, tokens

app = typer.Typer(
    help="Contexts: named servers and their tokens, kept in "
    "$XDG_CONFIG_HOME/hostler/contexts.json (~/.config/hostler by default). HOSTLER_URL and "
    "HOSTLER_TOKEN, when set, win over the context; HOSTLER_CONTEXT=NAME picks one for a command."
)

Name = Annotated[str, typer.Argument(help="Name of the context.", show_default=False)]


def _file() -> pathlib.Path:
    return contexts.path(os.environ)


def _read_token(token: str | None, token_file: pathlib.Path | None, name: str) -> str | None:
    if token is not None and token_file is not None:
        raise typer.BadParameter("give --token or --token-file, not both", param_hint="'--token'")
    if token_file is not None:
        try:
            text = sys.stdin.read() if str(token_file) == "-" else token_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise common.Failure(f"token file '{token_file}': cannot be read ({reason})") from None
        token = text.strip()
    if token is None:
        return None
    try:
        tokens.parse(token)
    except errors.Unauthenticated:
        raise common.Failure(
            f"context '{name}': the token is not a Hostler token",
            hint="give the whole token as 'hostler token create' printed it (hst_…)",
        ) from None
    return token.strip()


def _overridden() -> list[str]:
    """Return the environment variables that win over the context, if any are set."""
    return [name for name in ("HOSTLER_URL", "HOSTLER_TOKEN") if os.environ.get(name)]


def _note_overrides() -> None:
    found = _overridden()
    if found:
        output.note(
            f"note: {' and '.join(found)} {'is' if len(found) == 1 else 'are'} set and "
            f"{'wins' if len(found) == 1 else 'win'} over the context",
            hint=f"unset {' and '.join(found)} to use the context's",
        )


def _item(name: str, found: contexts.Context, current: bool) -> dict[str, Any]:
    """Return a context for people and scripts: its token masked."""
    return {"name": name, "url": found.url, "token": contexts.mask(found.token), "current": current}


@app.command()
@common.handles_errors
def add(
    name: Name,
    url: Annotated[
        str,
        typer.Option("--url", help="The server's address, e.g. https://hostler.example.com."),
    ],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="The token to send (hst_…). It stays in your shell's history: prefer "
            "--token-file.",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--token-file",
            help="Read the token from this file ('-': standard input).",
            show_default=False,
        ),
    ] = None,
    use: Annotated[
        bool, typer.Option("--use", help="Make it the current context (the first one always is).")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the context of that name if there is one.")
    ] = False,
) -> None:
    """Add a context: a server and the token to send it."""
    contexts.check_name(name)
    address = contexts.check_url(url, name=name)
    secret = _read_token(token, token_file, name)
    file = _file()
    kept = contexts.load(file)
    existed = name in kept.contexts
    if existed and not replace:
        raise errors.AlreadyExists(
            f"context '{name}': exists",
            hint="add --replace to replace it, or choose another name",
        )
    kept.contexts[name] = contexts.Context(address, secret)
    if use or kept.current is None:
        kept.current = name
    contexts.save(file, kept)
    said = "replaced" if existed else "added"
    output.say(f"context '{name}': {said}{' (current)' if kept.current == name else ''}")


@app.command()
@common.handles_errors
def use(name: Name) -> None:
    """Make a context the current one: commands talk to its server from now on."""
    file = _file()
    kept = contexts.load(file)
    found = kept.get(name)
    kept.current = name
    contexts.save(file, kept)
    output.say(f"context '{name}': current ({found.url})")
    _note_overrides()


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["CURRENT", "NAME", "URL", "TOKEN"],
        ([Text("*" if c["current"] else ""), c["name"], c["url"], Text(c["token"])] for c in items),
    )


@app.command("list")
@common.handles_errors
def list_(fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List the contexts, the current one marked '*'; tokens show only their id."""
    kept = contexts.load(_file())
    items = [
        _item(name, found, name == kept.current) for name, found in sorted(kept.contexts.items())
    ]
    if not items and fmt is output.Format.TABLE:
        output.note("no contexts", hint="'hostler context add NAME --url URL' adds one")
        return
    output.show(items, fmt, _table)


@app.command()
@common.handles_errors
def remove(name: Name) -> None:
    """Remove a context, and its token with it."""
    file = _file()
    kept = contexts.load(file)
    kept.get(name)
    del kept.contexts[name]
    was_current = kept.current == name
    if was_current:
        kept.current = None
    contexts.save(file, kept)
    output.say(f"context '{name}': removed{' (no context is current now)' if was_current else ''}")


@app.command()
@common.handles_errors
def show(fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """Show the context commands use (HOSTLER_CONTEXT's, else the current one); the token shows
    only its id."""
    kept = contexts.load(_file())
    chosen = os.environ.get("HOSTLER_CONTEXT") or None
    name = chosen or kept.current
    if name is None:
        raise errors.NotFound(
            "context: none is current",
            hint="'hostler context add NAME --url URL' adds one, 'hostler context use NAME' "
            "picks one",
        )
    found = kept.get(name, source="HOSTLER_CONTEXT" if chosen else "")
    item = _item(name, found, name == kept.current)
    output.show(item, fmt, lambda c: output.fields(c, ["name", "url", "token"]))
    _note_overrides()
