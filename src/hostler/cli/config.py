"""``hostler config``: the server's configuration file."""

from __future__ import annotations

import sys

import typer

from hostler.cli import common

app = typer.Typer(help="The server's configuration.")


@app.command()
@common.handles_errors
def default() -> None:
    """Print a configuration file with every setting at its default, documented (TOML)."""
    from hostler import config

    # Written as is: TOML's [sections] must not be read as Rich markup.
    sys.stdout.write(config.default_file().rstrip("\n") + "\n")
