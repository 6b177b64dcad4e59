"""``hostler secret``: a pipeline's secrets and global ones; values go in through stdin or a file
and come out only to an admin who asks (``get --reveal``)."""

from __future__ import annotations

import base64
import dataclasses
import pathlib
import secrets
import sys
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, output
from hostler.core import secrets as core_secrets

app = typer.Typer(
    help="Secrets: values a task reads in its env as secret{{NAME}} (its pipeline's) or "
    "global_secret{{NAME}} (shared with namespaces), kept encrypted and masked in logs. "
    "Choose a pipeline's with --pipeline (and -n), the global ones with --global."
)

KEY_BYTES = 32
"""The length of a key of ``secrets.key``: AES-256."""

Name = Annotated[
    str, typer.Argument(help="Name of the secret, e.g. DB_PASSWORD.", show_default=False)
]
Pipeline = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--pipeline",
        help="The pipeline whose secret it is (in the namespace of -n).",
        show_default=False,
    ),
]
Global = Annotated[
    bool,
    typer.Option("--global", help="A global secret of the installation instead of a pipeline's."),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking for confirmation.")]


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a secret is: a pipeline's (``namespace`` and ``pipeline``), or global (both None)."""

    namespace: str | None = None
    pipeline: str | None = None

    @property
    def is_global(self) -> bool:
        """Tell whether this is the place of the global secrets."""
        return self.pipeline is None

    def ref(self, name: str) -> str:
        """Return the secret ``name`` of this place written for people."""
        if self.pipeline is None:
            return f"global secret '{name}'"
        return f"secret '{name}' of pipeline '{self.namespace}/{self.pipeline}'"


def place(ctx: typer.Context, pipeline: str | None, namespace: str, is_global: bool) -> Place:
    """Return the place that ``--pipeline``/``-n`` or ``--global`` chose.

    Raises ``typer.BadParameter`` (a usage error) unless exactly one of them was given.
    """
    if pipeline is not None and is_global:
        raise typer.BadParameter("give --pipeline or --global, not both", param_hint="'--global'")
    if pipeline is None and not is_global:
        raise typer.BadParameter(
            "give --pipeline PIPELINE for a pipeline's secret, or --global for a global one",
            param_hint="'--pipeline'",
        )
    if pipeline is not None:
        return Place(namespace, pipeline)
    # Only -n typed on this command line is a mistake; HOSTLER_NAMESPACE may be set for others.
    source = ctx.get_parameter_source("namespace")
    if source is not None and source.name == "COMMANDLINE":
        raise typer.BadParameter(
            "a global secret belongs to no namespace; 'secret set --global' takes the namespaces "
            "that may use it as --namespace-pattern",
            param_hint="'--namespace'",
        )
    return Place()


def new_key() -> str:
    """Return a fresh random key for ``secrets.key``: URL-safe base64 of 32 random bytes.

    The same text as the server's ``crypto.aesgcm.new_key``, which the CLI may not import: it
    reaches the server over HTTP only.
    """
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _without_line_end(text: str) -> str:
    """Return ``text`` without one final line end: what echo and editors add to a value."""
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    return text


def read_value(ref: str, value_file: pathlib.Path | None) -> str:
    """Return the value to set: from ``value_file``, else standard input (asked for, hidden, on
    a terminal). One final line end is dropped; an empty value is a ``common.Failure``."""
    if value_file is not None and str(value_file) != "-":
        try:
            # Bytes, then text: reading as text would turn the value's \r\n into \n.
            text = value_file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise common.Failure(f"value file '{value_file}': cannot be read ({reason})") from None
    elif sys.stdin.isatty():
        # default="" makes an empty answer return, to be refused below, instead of asking again.
        text = typer.prompt(
            f"Value of {ref}", default="", show_default=False, hide_input=True, err=True
        )
    else:
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise common.Failure(f"{ref}: standard input cannot be read ({exc})") from None
    value = _without_line_end(text)
    if not value:
        raise common.Failure(
            f"{ref}: the value is empty",
            hint="pipe it in (hostler secret set NAME ... < FILE) or give --value-file FILE",
        )
    return value


def _namespaces(secret: dict[str, Any]) -> str:
    return ", ".join(secret.get("namespaces") or [])


def _table(items: list[Any], *, is_global: bool) -> RenderableType:
    columns = ["NAME", "KEY", "UPDATED"]
    rows = [[s.get("name"), s.get("key"), output.when(s.get("updated"))] for s in items]
    if is_global:
        columns.append("NAMESPACES")
        rows = [[*row, _namespaces(s)] for row, s in zip(rows, items, strict=True)]
    return output.table(columns, rows)


def _fields(secret: Any) -> RenderableType:
    shown = {
        **secret,
        "namespaces": _namespaces(secret),
        "created": output.when(secret.get("created")),
        "updated": output.when(secret.get("updated")),
    }
    if secret.get("pipeline") is None:
        names = ["name", "scope", "namespaces", "key", "created", "updated"]
    else:
        names = ["name", "scope", "namespace", "pipeline", "key", "created", "updated"]
    return output.fields(shown, names)


@app.command("set")
@common.handles_errors
def set_(
    ctx: typer.Context,
    name: Name,
    pipeline: Pipeline = None,
    namespace: common.Namespace = "default",
    is_global: Global = False,
    namespace_pattern: Annotated[
        list[str] | None,
        typer.Option(
            "--namespace-pattern",
            metavar="PATTERN",
            help="With --global, required: a namespace whose pipelines may use it, as an anchored "
            "pattern ('team-*', '*'); repeatable.",
            show_default=False,
        ),
    ] = None,
    value_file: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--value-file",
            metavar="FILE",
            help="Read the value from this file instead of standard input ('-': stdin).",
            show_default=False,
        ),
    ] = None,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Set a secret; its value comes from standard input or --value-file, never from arguments.

    Arguments would stay in the shell's history and show in ps.
    On a terminal the value is asked for without echo.
    From a pipe or a file, one final newline is dropped.
    Example: hostler secret set DB_PASSWORD --pipeline hello < password.txt
    """
    patterns = namespace_pattern or []
    if patterns and not is_global:
        raise typer.BadParameter(
            "only a global secret has namespace patterns: add --global, or leave them out",
            param_hint="'--namespace-pattern'",
        )
    where = place(ctx, pipeline, namespace, is_global)
    if where.is_global and not patterns:
        raise typer.BadParameter(
            "a global secret needs the namespaces that may use it, e.g. "
            "--namespace-pattern 'team-*' (repeatable)",
            param_hint="'--namespace-pattern'",
        )
    core_secrets.check_name(name)
    ref = where.ref(name)
    value = read_value(ref, value_file)
    with common.client(ctx) as api:
        if where.namespace is None or where.pipeline is None:
            answer = api.put_global_secret(name, value, patterns)
        else:
            answer = api.put_secret(where.namespace, where.pipeline, name, value)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
    elif where.is_global:
        output.say(f"{ref}: set, usable in {_namespaces(answer) or ', '.join(patterns)}")
    else:
        output.say(f"{ref}: set")


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    pipeline: Pipeline = None,
    namespace: common.Namespace = "default",
    is_global: Global = False,
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List a pipeline's secrets, or the global ones, by name: never their values."""
    where = place(ctx, pipeline, namespace, is_global)
    with common.client(ctx) as api:
        if where.namespace is None or where.pipeline is None:
            page = common.page(
                api, api.list_global_secrets, limit=limit, cursor=cursor, every=every
            )
        else:
            page = common.page(
                api,
                api.list_secrets,
                where.namespace,
                where.pipeline,
                limit=limit,
                cursor=cursor,
                every=every,
            )
    output.show_page(page, fmt, lambda items: _table(items, is_global=where.is_global))


@app.command()
@common.handles_errors
def get(
    ctx: typer.Context,
    name: Name,
    pipeline: Pipeline = None,
    namespace: common.Namespace = "default",
    is_global: Global = False,
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal",
            help="Print the value alone on standard output, for scripts. Only for admins; the "
            "server records who asked.",
        ),
    ] = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Show a secret: where it may be used, its key, when it was set; the value with --reveal."""
    where = place(ctx, pipeline, namespace, is_global)
    with common.client(ctx) as api:
        if where.namespace is None or where.pipeline is None:
            answer = api.get_global_secret(name, reveal=reveal)
        else:
            answer = api.get_secret(where.namespace, where.pipeline, name, reveal=reveal)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
    elif not reveal:
        output.show(answer, fmt, _fields)
    elif answer.get("value") is None:
        raise common.Failure(f"{where.ref(name)}: the server did not reveal the value")
    else:
        # Written as is, alone on its line: nothing may wrap or style the value.
        sys.stdout.write(f"{answer['value']}\n")


@app.command()
@common.handles_errors
def delete(
    ctx: typer.Context,
    name: Name,
    pipeline: Pipeline = None,
    namespace: common.Namespace = "default",
    is_global: Global = False,
    yes: Yes = False,
) -> None:
    """Delete a secret: tasks that refer to it fail before they start from now on."""
    where = place(ctx, pipeline, namespace, is_global)
    ref = where.ref(name)
    if not yes and not common.confirm(
        f"Delete {ref}? Tasks that refer to it will fail.",
        refused=f"{ref}: not deleting it without confirmation",
        hint="add --yes to delete it without asking",
        declined="Nothing deleted.",
    ):
        return
    with common.client(ctx) as api:
        if where.namespace is None or where.pipeline is None:
            api.delete_global_secret(name)
        else:
            api.delete_secret(where.namespace, where.pipeline, name)
    output.say(f"{ref}: deleted")


@app.command("rotate-key")
@common.handles_errors
def rotate_key(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """Encrypt every secret still under an older key again, under the server's secrets.key;
    the configuration of the extensions installed from images too.

    Afterwards the keys of secrets.previous_keys are no longer needed.
    """
    with common.client(ctx) as api:
        answer = api.rotate_secret_key()
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
        return
    count = answer.get("secrets") or 0
    done = (
        "none needed it"
        if count == 0
        else "1 encrypted again"
        if count == 1
        else f"{count} encrypted again"
    )
    output.say(f"secrets: {done}; every secret is under key '{answer.get('key')}' now")
    output.note(
        "note: the keys of secrets.previous_keys are no longer needed",
        hint="remove them from the server's configuration and restart it",
    )


@app.command("new-key")
@common.handles_errors
def new_key_() -> None:
    """Print a new random key for the server's secrets.key; the server is not contacted.

    The key alone goes to standard output: HOSTLER_SECRETS__KEY=$(hostler secret new-key).
    """
    # Written as is, alone on its line: nothing may wrap or style the key.
    sys.stdout.write(f"{new_key()}\n")
    output.note(
        "a new key: set it as secrets.key in the server's configuration, or as "
        "HOSTLER_SECRETS__KEY, and restart the server. Keep it as safely as the database.",
        hint="to replace a key in use, move the old one to secrets.previous_keys, then run "
        "'hostler secret rotate-key'",
    )
