"""``hostler token``: API tokens, made with roles; their secret is shown once, when made."""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from hostler.cli import common, output
from hostler.core import durations

app = typer.Typer(
    help="Tokens: what clients send as 'Authorization: Bearer hst_…'; each has roles "
    "('hostler role list')."
)

_ID = re.compile(r"^hst_([0-9a-f]{12})(_.*)?$", re.DOTALL)


def _token_id(text: str) -> str:
    """Return the id of ``text``: an id, or a token (whole or masked) it is read from."""
    found = _ID.match(text.strip())
    return found.group(1) if found else text


TokenId = Annotated[
    str,
    typer.Argument(
        help="The token's id (as 'token list' shows it; hst_<id>_… is read too).",
        show_default=False,
        parser=_token_id,
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking for confirmation.")]


def expiry(text: str, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """Return when a token given ``--expires text`` expires: after a duration from ``now``
    (``30d``, ``12h``), or at a time (``2026-12-01``, ``2026-12-01T10:00:00Z``; UTC unless told).

    Raises ``typer.BadParameter`` (a usage error naming ``--expires``) otherwise.
    """
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        raise typer.BadParameter(
            f"'{text}' has no unit; write a duration such as '30d' or '12h', or a time such as "
            "2026-12-01",
            param_hint="'--expires'",
        )
    try:
        seconds = durations.parse(value)
    except ValueError:
        pass
    else:
        start = now or datetime.datetime.now(datetime.UTC)
        return start + datetime.timedelta(seconds=seconds)
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is neither a duration (30d, 12h) nor a time (2026-12-01, "
            "2026-12-01T10:00:00Z)",
            param_hint="'--expires'",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def state(token: Mapping[str, Any], *, now: datetime.datetime | None = None) -> str:
    """Return whether a token works: ``active``, ``disabled`` or ``expired``."""
    if token.get("disabled"):
        return "disabled"
    expires = output.timestamp(token.get("expires"))
    if expires is not None and expires <= (now or datetime.datetime.now(datetime.UTC)):
        return "expired"
    return "active"


def _styled_state(token: Mapping[str, Any]) -> Text:
    word = state(token)
    return Text(word, style={"active": "green", "disabled": "yellow", "expired": "red"}[word])


def _expires(token: Mapping[str, Any]) -> str:
    return output.when(token.get("expires")) or "never"


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["ID", "NAME", "ROLES", "STATE", "EXPIRES", "CREATED", "BY"],
        (
            [
                t.get("id"),
                t.get("name"),
                ", ".join(t.get("roles") or []),
                _styled_state(t),
                _expires(t),
                output.when(t.get("created")),
                t.get("created_by"),
            ]
            for t in items
        ),
    )


def _fields(token: Any) -> RenderableType:
    shown = {
        **token,
        "roles": ", ".join(token.get("roles") or []),
        "state": state(token),
        "created": output.when(token.get("created")),
        "expires": _expires(token),
    }
    return output.fields(
        shown, ["id", "name", "roles", "state", "expires", "created", "created_by"]
    )


@app.command()
@common.handles_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new token.", show_default=False)],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            metavar="ROLE",
            help="A role: admin, namespace-owner:PATTERN, namespace-reader:PATTERN, or one an "
            "admin made; repeatable.",
            show_default=False,
        ),
    ],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="DURATION|TIME",
            help="When it stops working: after a duration (30d, 12h) or at a UTC time "
            "(2026-12-01, 2026-12-01T10:00:00Z). Never by default.",
            show_default=False,
        ),
    ] = None,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Make a token and print it, this once: it is never shown again.

    The token alone goes to standard output, so that a script can keep it:
    TOKEN=$(hostler token create ci --role namespace-owner:ci).
    """
    until = None if expires is None else expiry(expires)
    with common.client(ctx) as api:
        answer = api.create_token(name, role, until)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
        return
    made = answer["token"]
    # Written as is, alone on its line: nothing may wrap or style the secret.
    sys.stdout.write(f"{answer['secret']}\n")
    until_when = output.when(made.get("expires"))
    lasts = f"expires {until_when} UTC" if until_when else "does not expire"
    output.note(
        f"token '{made['name']}' (id {made['id']}): created, {lasts}. "
        "It is shown this once: store it now.",
        hint="keep it in a context: hostler context add NAME --url URL --token-file FILE",
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
    """List the tokens by name: never their secrets."""
    with common.client(ctx) as api:
        page = common.page(api, api.list_tokens, limit=limit, cursor=cursor, every=every)
    output.show_page(page, fmt, _table)


@app.command()
@common.handles_errors
def get(ctx: typer.Context, token: TokenId, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """Show a token: its roles, whether it works, when it expires; never its secret."""
    with common.client(ctx) as api:
        answer = api.get_token(token)
    output.show(answer, fmt, _fields)


def _switch(ctx: typer.Context, token: str, fmt: output.Format, *, disable: bool) -> None:
    with common.client(ctx) as api:
        answer = api.disable_token(token) if disable else api.enable_token(token)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
        return
    made = answer["token"]
    word = "disabled" if disable else "enabled"
    said = word if answer.get("result") == "changed" else f"unchanged (already {word})"
    output.say(f"token '{made['id']}' ({made['name']}): {said}")


@app.command()
@common.handles_errors
def disable(
    ctx: typer.Context, token: TokenId, fmt: output.OutputFormat = output.Format.TABLE
) -> None:
    """Disable a token: requests carrying it are refused until it is enabled again."""
    _switch(ctx, token, fmt, disable=True)


@app.command()
@common.handles_errors
def enable(
    ctx: typer.Context, token: TokenId, fmt: output.OutputFormat = output.Format.TABLE
) -> None:
    """Enable a disabled token again."""
    _switch(ctx, token, fmt, disable=False)


@app.command()
@common.handles_errors
def delete(ctx: typer.Context, token: TokenId, yes: Yes = False) -> None:
    """Delete a token for good: requests carrying it are refused from now on."""
    if not yes and not common.confirm(
        f"Delete token '{token}'? Requests carrying it will be refused.",
        refused=f"token '{token}': not deleting it without confirmation",
        hint="add --yes to delete it without asking",
        declined="Nothing deleted.",
    ):
        return
    with common.client(ctx) as api:
        api.delete_token(token)
    output.say(f"token '{token}': deleted")
