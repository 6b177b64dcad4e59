"""``hostler extension``: the installed extensions, how each stands, and their output; those
installed from images, installed, updated, listed with their newer versions, and removed, each
change planned first."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, output
from hostler.cli.pipeline import apply_planned

app = typer.Typer(
    help="Extensions: the programs that start runs (schedules, webhooks...) and send "
    "notifications, run and watched by the server."
)


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["NAME", "STATE", "RUNS IN", "RESTARTS", "SUBSCRIPTIONS"],
        (
            [e.get("name"), e.get("state"), _runs_in(e), e.get("restarts"), e.get("subscriptions")]
            for e in items
        ),
    )


def _runs_in(extension: dict[str, Any]) -> str | None:
    """Return where an extension runs: ``pid 4242``, ``container 3f1abd22ad5d``, or nothing."""
    if extension.get("container"):
        return f"container {extension['container']}"
    return f"pid {extension['pid']}" if extension.get("pid") is not None else None


@app.command("list")
@common.handles_errors
def list_(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List the installed extensions, with how each stands."""
    with common.client(ctx) as api:
        answer = api.list_extensions()
    if fmt is output.Format.TABLE and not answer.get("items"):
        output.say("No extensions run on this server.")
        return
    output.show(answer, fmt, lambda found: _table(found.get("items", [])))


@app.command()
@common.handles_errors
def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The extension, e.g. cron.", show_default=False)],
    lines: Annotated[
        int, typer.Option("-n", "--lines", min=1, max=10_000, help="How many of the last lines.")
    ] = 100,
) -> None:
    """Print the last lines of an extension's output (JSON lines, of every process it ran)."""
    with common.client(ctx) as api:
        answer = api.extension_log(name, lines)
    for line in answer.get("lines", []):
        typer.echo(line)


ExtensionName = Annotated[
    str, typer.Argument(help="The extension's name, e.g. slack.", show_default=False)
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Proceed without asking.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan and stop; nothing changes.")]
AllowDowngrade = Annotated[
    bool, typer.Option("--allow-downgrade", help="Allow going to an older version.")
]
ForceSameVersion = Annotated[
    bool, typer.Option("--force-same-version", help="Install the installed version again.")
]


@app.command()
@common.handles_errors
def install(
    ctx: typer.Context,
    name: ExtensionName,
    image: Annotated[
        str,
        typer.Argument(
            help="An image on the server's engine: a reference (hostler-ext-slack:1.3.0), or a "
            "repository (hostler-ext-slack) whose newest version is taken.",
            show_default=False,
        ),
    ],
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            metavar="VERSION",
            help="The version of IMAGE's repository to take (1.3.0), or a major version (1), "
            "which pins the extension to it.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option(
            "--config",
            metavar="KEY=VALUE",
            help="A value the extension reads as HOSTLER_EXTENSION_CONFIG_KEY; repeat for "
            "several. Kept by the server, never shown again.",
            show_default=False,
        ),
    ] = None,
    yes: Yes = False,
    dry_run: DryRun = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Plan installing extension NAME from IMAGE, then, once confirmed, install it.

    IMAGE must be on the server's engine (build or pull it first) and carry the labels
    dev.hostler.extension.name (equal to NAME) and dev.hostler.extension.version (a semantic
    version). Without a terminal to ask on, -y is needed to proceed.
    """
    values = _config(config)
    with common.client(ctx) as api:
        draft = api.install_extension(name, image, version=version, config=values, dry_run=True)
        apply_planned(
            draft["plan"],
            fmt,
            stop=dry_run,
            yes=yes,
            draft=draft,
            apply=lambda: api.install_extension(
                name, image, version=version, config=values, planned=draft["planned"]
            ),
            describe=lambda answer: _describe(answer, "installed"),
            doing="installing",
        )


@app.command()
@common.handles_errors
def update(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME[@VERSION]]",
            help="The extension, and the version to go to: 1.4.2, or a major version (1) that "
            "pins it; without one, its newest version (within its pin).",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Update every extension installed from an image.")
    ] = False,
    allow_downgrade: AllowDowngrade = False,
    force_same_version: ForceSameVersion = False,
    yes: Yes = False,
    dry_run: DryRun = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Plan updating an extension installed from an image (or --all), then, once confirmed,
    update it.

    'Up-to-date.' when there is nothing newer on the server's engine, and then nothing changes.
    An older version is refused unless --allow-downgrade, the installed one unless
    --force-same-version. Without a terminal to ask on, -y is needed to proceed.
    """
    flags = {"allow_downgrade": allow_downgrade, "force_same_version": force_same_version}
    if every == (target is not None):
        raise common.Failure(
            "which extension? give NAME[@VERSION] or --all, not both",
            hint="'hostler extension avail' lists the newer versions on the engine",
        )
    with common.client(ctx) as api:
        if target is None:

            def apply(dry: bool, planned: str | None = None) -> dict[str, Any]:
                return api.update_extensions(dry_run=dry, planned=planned, **flags)
        else:
            name, _, version = target.partition("@")

            def apply(dry: bool, planned: str | None = None) -> dict[str, Any]:
                return api.update_extension(
                    name, version=version or None, dry_run=dry, planned=planned, **flags
                )

        draft = apply(True)
        apply_planned(
            draft["plan"],
            fmt,
            stop=dry_run or bool(draft["plan"].get("up_to_date")),
            yes=yes,
            draft=draft,
            apply=lambda: apply(False, draft["planned"]),
            describe=lambda answer: _describe(answer, "now"),
            doing="updating",
        )


def _describe(answer: dict[str, Any], verb: str) -> str:
    """Return the sentences that report what an install or update did."""
    done = answer.get("extensions") or []
    if not done:
        return "Nothing changed."
    if verb == "installed":
        return "\n".join(
            f"extension '{e.get('name')}': {e.get('version')} installed from {e.get('image')}"
            for e in done
        )
    return "\n".join(
        f"extension '{e.get('name')}': {e.get('version')} is installed ({e.get('image')})"
        for e in done
    )


@app.command()
@common.handles_errors
def avail(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List the newer versions the server's engine has of each extension installed from an
    image (within its pin); 'Up-to-date.' when there are none."""
    with common.client(ctx) as api:
        answer = api.available_extensions()
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
        return
    if answer.get("up_to_date"):
        output.say("Up-to-date.")
        return
    output.show(
        answer,
        fmt,
        lambda found: output.table(
            ["NAME", "VERSION", "PIN", "NEWER"],
            (
                [
                    e.get("name"),
                    e.get("version"),
                    _pin(e.get("pin")),
                    ", ".join(str(n.get("version")) for n in e.get("newer") or []) or "-",
                ]
                for e in found.get("items", [])
            ),
        ),
    )


@app.command()
@common.handles_errors
def installed(ctx: typer.Context, fmt: output.OutputFormat = output.Format.TABLE) -> None:
    """List the extensions installed from images, by name."""
    with common.client(ctx) as api:
        answer = api.list_installed_extensions()
    if fmt is output.Format.TABLE and not answer.get("items"):
        output.say("No extensions are installed from images.")
        return
    output.show(
        answer,
        fmt,
        lambda found: output.table(
            ["NAME", "VERSION", "PIN", "IMAGE", "SUBSCRIPTIONS", "INSTALLED", "BY"],
            (
                [
                    e.get("name"),
                    e.get("version"),
                    _pin(e.get("pin")),
                    e.get("image"),
                    e.get("subscriptions"),
                    output.when(e.get("installed")),
                    e.get("installed_by"),
                ]
                for e in found.get("items", [])
            ),
        ),
    )


@app.command()
@common.handles_errors
def remove(ctx: typer.Context, name: ExtensionName, yes: Yes = False) -> None:
    """Forget an extension installed from an image, once confirmed: its container stops, and the
    subscriptions made by hand to it go; its image stays on the engine, and pipeline files that
    name it keep their triggers. Without a terminal to ask on, -y is needed to proceed."""
    with common.client(ctx) as api:
        found = api.get_installed_extension(name)
        count = found.get("subscriptions", 0)
        affected = f"{count} subscription{'' if count == 1 else 's'} affected"
        output.say(f'remove "{name}" {found.get("version")} ({found.get("image")}; {affected})')
        if not yes and not common.confirm(
            "Proceed?",
            refused="not removing: there is no terminal to confirm on",
            hint="add -y to proceed without asking",
            declined="Nothing changed.",
        ):
            return
        api.remove_extension(name)
    output.say(
        f"extension '{name}': removed, with its subscriptions made by hand "
        "(its image stays on the engine)"
    )


def _pin(pin: Any) -> str:
    return "-" if pin is None else f"{pin}.x"


def _config(values: list[str] | None) -> dict[str, str]:
    """Turn ``KEY=VALUE`` flags into a mapping; a usage error (exit status 2) without ``=``."""
    config: dict[str, str] = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{value}' is not KEY=VALUE", param_hint="'--config'")
        config[key] = text
    return config
