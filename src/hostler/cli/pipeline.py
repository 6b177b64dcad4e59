"""``hostler pipeline``: plan and register pipelines and make them live, list them, show one;
list their subscriptions, and subscribe and unsubscribe them by hand."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, files, output, settings

app = typer.Typer(help="Pipelines: named, versioned DAGs of containerized tasks.")

PipelineId = Annotated[str, typer.Argument(help="Identifier of the pipeline.", show_default=False)]


def short_digest(digest: str | None) -> str:
    """Return a digest shortened for people: ``sha256:ab12cd34ef56…``."""
    if not digest:
        return "-"
    algorithm, _, value = digest.rpartition(":")
    return f"{algorithm}:{value[:12]}…" if algorithm else f"{value[:12]}…"


def describe_up(namespace: str, answer: dict[str, Any]) -> str:
    """Return the sentence that reports the answer of ``up``."""
    pipeline = answer.get("pipeline") or {}
    version = answer.get("version") or {}
    subject = f"pipeline '{namespace}/{pipeline.get('id') or version.get('pipeline')}'"
    number = version.get("version")
    result = answer.get("result")
    if result == "created":
        return (
            f"{subject}: version {number} registered and live "
            f"({short_digest(version.get('digest'))})"
        )
    if result == "deployed":
        return f"{subject}: version {number} is live again"
    return f"{subject}: unchanged (version {number} is live)"


PipelineFile = Annotated[
    pathlib.Path,
    typer.Argument(
        help="Pipeline file: .yaml, .yml, .json, or a .py script printing the pipeline JSON.",
        show_default=False,
    ),
]


@app.command()
@common.handles_errors
def up(
    ctx: typer.Context,
    file: PipelineFile,
    namespace: common.Namespace = "default",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Proceed without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and stop; nothing changes.")
    ] = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Plan making the pipeline in FILE live, then, once confirmed, register and deploy it.

    The plan (what changes against the live version) is shown first; 'Up-to-date.' when the file
    is the live version, and then nothing changes. Without a terminal to ask on, -y is needed to
    proceed. Content identical to an existing version creates nothing: that version is made live
    again.
    """
    config = files.read_pipeline(file)
    with common.client(ctx) as api:
        planned = api.plan_pipeline(namespace, pipeline_id(file, config), config)
        apply_planned(
            planned,
            fmt,
            stop=dry_run or planned.get("action") == "up_to_date",
            yes=yes,
            draft=planned,
            apply=lambda: api.up_pipeline(
                namespace, config, planned_against=planned.get("from_version")
            ),
            describe=lambda answer: describe_up(namespace, answer),
        )


def apply_planned(
    plan: dict[str, Any],
    fmt: output.Format,
    *,
    stop: bool,
    yes: bool,
    draft: dict[str, Any],
    apply: Callable[[], dict[str, Any]],
    describe: Callable[[dict[str, Any]], str],
    doing: str = "deploying",
) -> None:
    """Show ``plan``; unless ``stop``, ask to proceed (``yes`` has said so), ``apply`` it and say
    what was done with ``describe``. With ``stop``, ``-o json|yaml`` prints ``draft``. ``doing``
    says what is not done when there is no terminal to ask on."""
    if fmt is output.Format.TABLE:
        for line in plan.get("text", []):
            output.say(line)
    if stop:
        if fmt is not output.Format.TABLE:
            output.data(draft, fmt)
        return
    if not yes and not common.confirm(
        "Proceed?",
        refused=f"not {doing}: there is no terminal to confirm on",
        hint="add -y to proceed without asking, or --dry-run to only see the plan",
        declined="Nothing changed.",
    ):
        return
    answer = apply()
    if fmt is output.Format.TABLE:
        output.say("")
        output.say(describe(answer))
    else:
        output.data(answer, fmt)


def pipeline_id(file: pathlib.Path, config: dict[str, Any]) -> str:
    pipeline = config.get("id")
    if not isinstance(pipeline, str) or not pipeline:
        raise common.Failure(
            f"{file}: the pipeline has no 'id'", hint="add one at the top, e.g. 'id: hello'"
        )
    return pipeline


@app.command()
@common.handles_errors
def plan(
    ctx: typer.Context,
    file: PipelineFile,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Show what making the pipeline in FILE live would change; nothing is changed.

    The plan lists the tasks added, removed and changed (field by field; env values are never
    shown), the pipeline settings changed, and the runs in flight, which finish on the version
    they started with.
    """
    config = files.read_pipeline(file)
    with common.client(ctx) as api:
        answer = api.plan_pipeline(namespace, pipeline_id(file, config), config)
    if fmt is output.Format.TABLE:
        for line in answer.get("text", []):
            output.say(line)
    else:
        output.data(answer, fmt)


def _table(items: list[Any]) -> RenderableType:
    return output.table(
        ["PIPELINE", "LIVE VERSION", "DESCRIPTION", "UPDATED"],
        (
            [
                p.get("id"),
                p.get("live_version"),
                p.get("description"),
                output.when(p.get("updated")),
            ]
            for p in items
        ),
    )


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the pipelines of a namespace."""
    with common.client(ctx) as api:
        page = common.page(
            api, api.list_pipelines, namespace, limit=limit, cursor=cursor, every=every
        )
    output.show_page(page, fmt, _table)


@app.command()
@common.handles_errors
def get(
    ctx: typer.Context,
    pipeline: PipelineId,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Show a pipeline."""
    with common.client(ctx) as api:
        answer = api.get_pipeline(namespace, pipeline)
    output.show(
        answer,
        fmt,
        lambda p: output.fields(
            {
                **p,
                "created": output.when(p.get("created")),
                "updated": output.when(p.get("updated")),
            },
            ["namespace", "id", "description", "live_version", "created", "updated"],
        ),
    )


Key = Annotated[
    str,
    typer.Argument(
        help="Key of the subscription: its id, else its extension's name.", show_default=False
    ),
]


@app.command()
@common.handles_errors
def subscribe(
    ctx: typer.Context,
    pipeline: PipelineId,
    extension: Annotated[
        str,
        typer.Argument(
            help="Extension to subscribe to, such as interval, cron or notify.",
            show_default=False,
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--id",
            metavar="ID",
            help="Key of the subscription, unique among the pipeline's (its file's triggers and "
            "notifications too); the extension's name when absent.",
            show_default=False,
        ),
    ] = None,
    flags: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="A setting; repeat for several. VALUE is read as YAML: 30s is text, false a "
            "boolean, 5 a number. A dotted KEY such as webhook.url sets a nested setting.",
            show_default=False,
        ),
    ] = None,
    settings_file: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="The settings as a .yaml, .yml or .json file, or - for standard input; --set "
            "flags go on top.",
            show_default=False,
        ),
    ] = None,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Subscribe PIPELINE to EXTENSION by hand, as a trigger or notification in its file does.

    The subscription stays, whatever version is deployed, until 'hostler pipeline
    unsubscribe'. Its extension is told while the pipeline has a live version. Settings may
    refer to secrets, written secret{{NAME}}.
    """
    base = settings.read(settings_file) if settings_file is not None else {}
    chosen = settings.parse(flags, base)
    with common.client(ctx) as api:
        made = api.subscribe(namespace, pipeline, extension, chosen, key=key)
    if fmt is output.Format.TABLE:
        output.say(
            f"pipeline '{namespace}/{pipeline}': subscribed to {made.get('extension')} "
            f"as '{made.get('key')}'"
        )
    else:
        output.data(made, fmt)
    if missing := made.get("missing_secrets"):
        output.note(
            f"its extension is not told until these secrets can be used: {', '.join(missing)}",
            hint=f"set them with 'hostler secret set -n {namespace} --pipeline {pipeline} NAME'",
        )


@app.command()
@common.handles_errors
def unsubscribe(
    ctx: typer.Context,
    pipeline: PipelineId,
    key: Key,
    namespace: common.Namespace = "default",
) -> None:
    """Delete the subscription KEY of PIPELINE made by hand.

    One from the pipeline's file is refused: remove it from the file and deploy that instead.
    """
    with common.client(ctx) as api:
        api.unsubscribe(namespace, pipeline, key)
    output.say(f"pipeline '{namespace}/{pipeline}': unsubscribed '{key}'")


def _subscriptions_table(items: list[Any]) -> RenderableType:
    return output.table(
        ["KEY", "EXTENSION", "SOURCE", "SETTINGS", "WAITS FOR"],
        (
            [
                s.get("key"),
                s.get("extension"),
                s.get("source")
                if s.get("version") is None
                else f"{s.get('source')} (v{s.get('version')})",
                settings.summary(s.get("settings") or {}),
                ", ".join(s.get("missing_secrets") or []) or None,
            ]
            for s in items
        ),
    )


@app.command("subscriptions")
@common.handles_errors
def subscriptions(
    ctx: typer.Context,
    pipeline: PipelineId,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """List the subscriptions of PIPELINE, from its file and made by hand.

    First its live version's triggers and notifications (source file), then those made by hand
    (source manual). Settings are shown as written: secret references are never resolved.
    """
    with common.client(ctx) as api:
        answer = api.list_subscriptions(namespace, pipeline)
    output.show(answer, fmt, lambda a: _subscriptions_table(list(a["items"])))
