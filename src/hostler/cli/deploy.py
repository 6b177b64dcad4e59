"""``hostler pipeline deploy|register|versions|diff|history``: versions and their deployments.

These are commands of the ``pipeline`` group, kept here so that ``pipeline.py`` stays about the
configuration files; importing this module adds them to ``pipeline.app``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, files, output
from hostler.cli.pipeline import (
    PipelineFile,
    PipelineId,
    app,
    apply_planned,
    pipeline_id,
    short_digest,
)

VersionNumber = Annotated[int, typer.Argument(min=1, help="A version number.", show_default=False)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Proceed without asking.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan and stop; nothing changes.")]


@app.command()
@common.handles_errors
def deploy(
    ctx: typer.Context,
    pipeline: PipelineId,
    version: Annotated[
        int | None,
        typer.Argument(
            min=1, help="The version to deploy; none with --promote or --abort.", show_default=False
        ),
    ] = None,
    namespace: common.Namespace = "default",
    canary: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=99,
            metavar="PERCENT",
            help="Start a canary: this share of new runs goes to VERSION, the rest stay live.",
        ),
    ] = None,
    max_failure_rate: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=99,
            metavar="PERCENT",
            help="With --canary: abort it by itself when more than this share of its last "
            "--window runs failed.",
        ),
    ] = None,
    window: Annotated[
        int,
        typer.Option(min=1, max=1000, metavar="RUNS", help="The runs --max-failure-rate counts."),
    ] = 10,
    promote: Annotated[
        bool, typer.Option("--promote", help="Make the canary's version live.")
    ] = False,
    abort: Annotated[
        bool, typer.Option("--abort", help="Drop the canary: every new run goes to the live one.")
    ] = False,
    force_same_version: Annotated[
        bool, typer.Option("--force-same-version", help="Deploy the live version again.")
    ] = False,
    yes: Yes = False,
    dry_run: DryRun = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Plan deploying VERSION of PIPELINE, then, once confirmed, deploy it.

    An older version than the live one is a ROLLBACK. The live version itself is refused unless
    --force-same-version. With --canary, only that share of new runs goes to VERSION until
    'deploy PIPELINE --promote' makes it live or 'deploy PIPELINE --abort' drops it. Without a
    terminal to ask on, -y is needed to proceed.
    """
    action = _action(version, canary, max_failure_rate, promote, abort, force_same_version)
    rule = None if max_failure_rate is None else (max_failure_rate, window)
    with common.client(ctx) as api:
        if action == "deploy":
            assert version is not None  # checked by _action

            def apply(dry: bool, plan: dict[str, Any] | None) -> dict[str, Any]:
                against = {} if plan is None else {"planned_against": plan.get("from_version")}
                return api.deploy(
                    namespace,
                    pipeline,
                    version,
                    force_same_version=force_same_version,
                    canary=canary,
                    auto_abort=rule,
                    dry_run=dry,
                    **against,
                )
        else:
            ends = api.promote_canary if action == "promote" else api.abort_canary
            side = "to_version" if action == "promote" else "from_version"

            def apply(dry: bool, plan: dict[str, Any] | None) -> dict[str, Any]:
                candidate = None if plan is None else plan.get(side)
                return ends(namespace, pipeline, candidate=candidate, dry_run=dry)

        draft = apply(True, None)
        apply_planned(
            draft["plan"],
            fmt,
            stop=dry_run,
            yes=yes,
            draft=draft,
            apply=lambda: apply(False, draft["plan"]),
            describe=lambda answer: describe(namespace, pipeline, answer),
        )


def _action(
    version: int | None,
    canary: int | None,
    max_failure_rate: int | None,
    promote: bool,
    abort: bool,
    force_same_version: bool,
) -> str:
    """Return deploy, promote or abort, or fail on options that do not go together."""
    if promote and abort:
        raise common.Failure("--promote and --abort: choose one")
    if promote or abort:
        flag = "--promote" if promote else "--abort"
        options = (version, canary, max_failure_rate)
        if force_same_version or any(option is not None for option in options):
            raise common.Failure(
                f"{flag} ends the canary in progress: it takes no VERSION, --canary, "
                "--max-failure-rate or --force-same-version",
                hint=f"run 'hostler pipeline deploy PIPELINE {flag}'",
            )
        return "promote" if promote else "abort"
    if version is None:
        raise common.Failure(
            "which version? give VERSION, or --promote or --abort for a canary",
            hint="'hostler pipeline versions PIPELINE' lists them",
        )
    if max_failure_rate is not None and canary is None:
        raise common.Failure(
            "--max-failure-rate applies to a canary only", hint="add --canary PERCENT"
        )
    return "deploy"


def describe(namespace: str, pipeline: str, answer: dict[str, Any]) -> str:
    """Return the sentence that reports what a deploy, promote or abort did."""
    deployment = answer.get("deployment") or {}
    subject = f"pipeline '{namespace}/{pipeline}'"
    number = f"(deployment {deployment.get('id')})"
    to = deployment.get("to_version")
    state, kind = deployment.get("state"), deployment.get("kind")
    if state == "canary":
        percent = deployment.get("percent")
        return f"{subject}: canary of v{to} started: {percent}% of new runs go to it {number}"
    if state == "promoted":
        return f"{subject}: v{to} promoted, it is live {number}"
    if state == "aborted":
        live = (answer.get("pipeline") or {}).get("live_version")
        return f"{subject}: canary of v{to} aborted, every new run goes to v{live} {number}"
    if kind == "rollback":
        return f"{subject}: rolled back to v{to}, it is live {number}"
    return f"{subject}: v{to} is live {number}"


@app.command()
@common.handles_errors
def register(
    ctx: typer.Context,
    file: PipelineFile,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Register the pipeline in FILE as a version without deploying it.

    Content identical to an existing version creates nothing. Deploy the version with 'hostler
    pipeline deploy PIPELINE VERSION' (with --canary to try it on a share of runs first).
    """
    config = files.read_pipeline(file)
    pipeline = pipeline_id(file, config)
    with common.client(ctx) as api:
        answer = api.register_version(namespace, pipeline, config)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
        return
    version = answer.get("version") or {}
    # an existing version may be the live one: only a new one is known not to be deployed
    what = (
        "registered; not deployed"
        if answer.get("result") == "created"
        else "has this content already; nothing registered"
    )
    output.say(
        f"pipeline '{namespace}/{pipeline}': version {version.get('version')} "
        f"({short_digest(version.get('digest'))}) {what}"
    )


@app.command()
@common.handles_errors
def versions(
    ctx: typer.Context,
    pipeline: PipelineId,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the versions of a pipeline, newest first, marking the live one and a canary's."""
    with common.client(ctx) as api:
        current = api.get_pipeline(namespace, pipeline)
        candidate = None
        if current.get("canary") is not None:
            latest = api.list_deployments(namespace, pipeline, limit=1)["items"]
            candidate = latest[0].get("to_version") if latest else None
        page = common.page(
            api, api.list_versions, namespace, pipeline, limit=limit, cursor=cursor, every=every
        )

    def marker(number: Any) -> str:
        if number == current.get("live_version"):
            return "live"
        return "canary" if number == candidate else ""

    def render(items: list[Any]) -> RenderableType:
        return output.table(
            ["VERSION", "", "DIGEST", "TASKS", "DESCRIPTION", "CREATED"],
            (
                [
                    v.get("version"),
                    marker(v.get("version")),
                    short_digest(v.get("digest")),
                    len((v.get("config") or {}).get("tasks") or []),
                    (v.get("config") or {}).get("description"),
                    output.when(v.get("created")),
                ]
                for v in items
            ),
        )

    output.show_page(page, fmt, render)


@app.command()
@common.handles_errors
def diff(
    ctx: typer.Context,
    pipeline: PipelineId,
    old: Annotated[int, typer.Argument(min=1, metavar="A", help="The version before.")],
    new: Annotated[int, typer.Argument(min=1, metavar="B", help="The version after.")],
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Show what deploying version B in place of version A changes, as a deploy plan would."""
    with common.client(ctx) as api:
        answer = api.diff_versions(namespace, pipeline, old, new)
    if fmt is output.Format.TABLE:
        for line in answer.get("text", []):
            output.say(line)
    else:
        output.data(answer, fmt)


@app.command()
@common.handles_errors
def history(
    ctx: typer.Context,
    pipeline: PipelineId,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the deployments of a pipeline, newest first.

    Each shows from and to which version, who deployed, when, how it ended, and the runs of each
    version started under it with their success rate (for a canary: live and candidate).
    """
    with common.client(ctx) as api:
        page = common.page(
            api,
            api.list_deployments,
            namespace,
            pipeline,
            limit=limit,
            cursor=cursor,
            every=every,
        )
    output.show_page(page, fmt, _history_table)


def _history_table(items: list[Any]) -> RenderableType:
    return output.table(
        ["ID", "KIND", "FROM", "TO", "OUTCOME", "BY", "STARTED", "RUNS"],
        (
            [
                d.get("id"),
                _kind(d),
                _version(d.get("from_version")),
                _version(d.get("to_version")),
                _outcome(d),
                d.get("actor"),
                output.when(d.get("started")),
                _tallies(d.get("tallies") or []),
            ]
            for d in items
        ),
    )


def _kind(deployment: dict[str, Any]) -> str:
    kind = str(deployment.get("kind"))
    if kind == "rollback":
        return "ROLLBACK"
    if kind == "canary":
        return f"canary {deployment.get('percent')}%"
    return kind


def _outcome(deployment: dict[str, Any]) -> str:
    """Return how the deployment ended in a word or two; ``-o json`` has the whole reason."""
    state = str(deployment.get("state"))
    if state == "canary":
        return "in progress"  # a canary keeps this state until it ends; KIND says it is one
    automatic = str(deployment.get("reason") or "").startswith("aborted automatically")
    return f"{state} (auto)" if automatic else state


def _version(number: Any) -> str:
    return "-" if number is None else f"v{number}"


def _tallies(tallies: list[dict[str, Any]]) -> str:
    """Return ``v3: 10 (100%), v4: 9 (89%)``: runs per version and their success rate."""
    parts = []
    for tally in tallies:
        rate = tally.get("success_rate")
        shown = "" if rate is None else f" ({rate:.0f}%)"
        parts.append(f"v{tally.get('version')}: {tally.get('runs')}{shown}")
    return ", ".join(parts) or "-"
