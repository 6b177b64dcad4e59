"""``hostler role``: the roles tokens get, built in or made by an admin from grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from hostler.cli import common, output
from hostler.core import access

app = typer.Typer(
    help="Roles: what a token may do. Built in: admin, namespace-owner:PATTERN, "
    "namespace-reader:PATTERN; admins make others from grants."
)

Name = Annotated[str, typer.Argument(help="Name of the role.", show_default=False)]
_GRANT_FORM = "ACTIONS:KINDS:PATTERN, e.g. 'read,run:pipelines,runs:team-*'"


def describe(grant: Mapping[str, Any]) -> str:
    """Return a grant of the API for people: ``read,run on pipelines,runs in team-*``."""
    actions = ",".join(grant.get("actions") or [])
    kinds = ",".join(grant.get("kinds") or [])
    return f"{actions} on {kinds} in {grant.get('pattern')}"


def describe_all(grants: Iterable[Mapping[str, Any]]) -> str | None:
    """Return grants one a line, or None for none."""
    return "\n".join(describe(grant) for grant in grants) or None


def parse_grant(text: str) -> dict[str, Any]:
    """Return the grant ``ACTIONS:KINDS:PATTERN`` as the API takes it.

    Raises ``typer.BadParameter`` (a usage error naming ``--grant``) when it is not one.
    """
    parts = text.split(":")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise typer.BadParameter(f"'{text}' is not {_GRANT_FORM}", param_hint="'--grant'")
    actions = _words(parts[0], access.Action, "an action", text)
    kinds = _words(parts[1], access.Kind, "a kind", text)
    return {"kinds": kinds, "actions": actions, "pattern": parts[2].strip()}


def _words(
    text: str, known: type[access.Action] | type[access.Kind], what: str, grant: str
) -> list[str]:
    values = {member.value for member in known}
    words = [word.strip() for word in text.split(",")]
    for word in words:
        if word not in values:
            allowed = ", ".join(member.value for member in known)
            raise typer.BadParameter(
                f"'{grant}': '{word}' is not {what} ({allowed})", param_hint="'--grant'"
            )
    return words


def _grants_cell(grants: Iterable[Mapping[str, Any]]) -> Text:
    # Folded, not cut short, when the terminal is narrow: every kind granted must show.
    text = describe_all(grants)
    return Text(text, overflow="fold") if text else output.cell(None)


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["NAME", "BUILTIN", "GRANTS", "DESCRIPTION"],
        (
            [
                r.get("name"),
                r.get("builtin"),
                _grants_cell(r.get("grants") or []),
                r.get("description"),
            ]
            for r in items
        ),
    )


def _fields(role: Any) -> RenderableType:
    shown = {**role, "grants": describe_all(role.get("grants") or [])}
    return output.fields(shown, ["name", "description", "builtin", "grants"])


@app.command("list")
@common.handles_errors
def list_(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List the roles: the built-in ones, then those admins made."""
    with common.client(ctx) as api:
        roles = api.list_roles()
    output.show(roles, fmt, _table)


@app.command()
@common.handles_errors
def get(ctx: typer.Context, name: Name, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """Show a role and what it grants."""
    with common.client(ctx) as api:
        role = api.get_role(name)
    output.show(role, fmt, _fields)


@app.command()
@common.handles_errors
def create(
    ctx: typer.Context,
    name: Name,
    grant: Annotated[
        list[str],
        typer.Option(
            "--grant",
            metavar="ACTIONS:KINDS:PATTERN",
            help=f"What it grants, as {_GRANT_FORM}; repeatable. Actions: "
            f"{', '.join(access.Action)}. Kinds: {', '.join(access.Kind)}. A pattern matches "
            "whole namespace names; '*' also reaches what belongs to the whole installation.",
            show_default=False,
        ),
    ],
    description: Annotated[
        str, typer.Option("-d", "--description", help="What the role is for.")
    ] = "",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Make a role from grants; tokens get it by its name."""
    grants = [parse_grant(text) for text in grant]
    with common.client(ctx) as api:
        role = api.create_role(name, grants, description)
    if fmt is not output.Format.TABLE:
        output.data(role, fmt)
    else:
        output.say(f"role '{name}': created")


@app.command()
@common.handles_errors
def delete(
    ctx: typer.Context,
    name: Name,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking for confirmation.")
    ] = False,
) -> None:
    """Delete a role an admin made; tokens that have it lose what it granted."""
    if not yes and not common.confirm(
        f"Delete role '{name}'? Tokens that have it lose what it grants.",
        refused=f"role '{name}': not deleting it without confirmation",
        hint="add --yes to delete it without asking",
        declined="Nothing deleted.",
    ):
        return
    with common.client(ctx) as api:
        api.delete_role(name)
    output.say(f"role '{name}': deleted")
