"""``hostler service``: run the Hostler server (API and engine) in this process."""

from __future__ import annotations

import os
import pathlib
from typing import Annotated, Any

import typer

from hostler.cli import common

app = typer.Typer(help="The Hostler server: the API, the engine and the web UI in one process.")

DEFAULT_CONFIG = pathlib.Path("hostler.toml")
"""The configuration file read when --config is not given, if it exists."""


def overrides(
    *, dev: bool, data_dir: pathlib.Path | None, host: str | None, port: int | None
) -> dict[str, Any]:
    """Return the settings given on the command line, shaped like the settings tree."""
    values: dict[str, Any] = {}
    if dev:
        values["dev"] = True
    if data_dir is not None:
        values["data_dir"] = str(data_dir)
    server = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    if server:
        values["server"] = server
    return values


@app.command()
@common.handles_errors
def start(
    dev: Annotated[
        bool,
        typer.Option("--dev", help="Development mode: local use only; authentication is off."),
    ] = False,
    data_dir: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--data-dir",
            help="Where the database and task logs live (setting data_dir).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="Port to listen on (setting server.port).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on (setting server.host).", show_default=False
        ),
    ] = None,
    config_file: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--config",
            help="Configuration file (TOML); default: ./hostler.toml if it exists.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the server in the foreground; stop it with Ctrl-C.

    Settings come from defaults, then the configuration file, then HOSTLER_* environment
    variables, then these options. 'hostler config default' prints every setting.
    """
    from hostler import config

    path = config_file
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    settings = config.load(
        path, overrides(dev=dev, data_dir=data_dir, host=host, port=port), dict(os.environ)
    )
    # Imported here: the server's dependencies load only for the command that runs it.
    from hostler import bootstrap

    bootstrap.serve(settings)
