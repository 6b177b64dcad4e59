"""The ``hostler`` command: one sub-command per noun, talking to the server over HTTP."""

from __future__ import annotations

import importlib.metadata
from typing import Annotated

import typer

import hostler.cli.deploy  # noqa: F401 - adds its commands to 'pipeline'
from hostler.cli import (
    config,
    context,
    event,
    extension,
    history,
    namespace,
    pipeline,
    plugins,
    role,
    run,
    secret,
    service,
    task,
    token,
    whoami,
)
from hostler.cli import object as object_  # imported as 'object', it would hide the built-in

app = typer.Typer(
    name="hostler",
    help="Hostler runs pipelines of containerized tasks. Commands talk to HOSTLER_URL and send "
    "HOSTLER_TOKEN when they are set, else use the current context ('hostler context'), else "
    "http://127.0.0.1:8080 without a token.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(namespace.app, name="namespace")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(run.app, name="run")
app.add_typer(task.app, name="task")
app.add_typer(event.app, name="event")
app.add_typer(extension.app, name="extension")
app.add_typer(service.app, name="service")
app.add_typer(config.app, name="config")
app.add_typer(plugins.app, name="plugins")
app.add_typer(context.app, name="context")
app.add_typer(token.app, name="token")
app.add_typer(role.app, name="role")
app.add_typer(secret.app, name="secret")
app.add_typer(object_.app, name="object")
app.command("history")(history.history)
app.command("whoami")(whoami.whoami)


def _version(value: bool) -> None:
    if value:
        try:
            version = importlib.metadata.version("hostler")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        typer.echo(f"hostler {version}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print Hostler's version and exit."
        ),
    ] = False,
) -> None:
    """Hostler runs pipelines of containerized tasks."""


def main() -> None:
    """Run the command line (the ``hostler`` console script)."""
    app()
