"""``hostler run``: start runs (and follow them), list them, show one, cancel one, retry a task,
delete a run's logs."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType

from hostler.cli import common, follow, output

app = typer.Typer(help="Runs: executions of a pipeline's live version (or a canary's).")

PipelineId = Annotated[str, typer.Argument(help="Identifier of the pipeline.", show_default=False)]
RunId = Annotated[int, typer.Argument(help="Number of the run.", show_default=False)]


def version(run: dict[str, Any]) -> str:
    """Return the run's version for people: ``4``, or ``4 (canary)`` for a canary's candidate."""
    number = str(run.get("version"))
    return f"{number} (canary)" if run.get("route") == "canary" else number


RUN_FIELDS = [
    "namespace",
    "pipeline",
    "id",
    "version",
    "route",
    "state",
    "status",
    "reason",
    "variables",
    "trigger",
    "created",
    "started",
    "ended",
    "cancel_requested",
    "logs_deleted",
]


def _trigger(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("kind") or value.get("name") or value
    return value


def _run_fields(run: dict[str, Any]) -> RenderableType:
    shown = {
        **run,
        "reason": (run.get("reason") or {}).get("description"),
        "created": output.when(run.get("created")),
        "started": output.when(run.get("started")),
        "ended": output.when(run.get("ended")),
        "logs_deleted": output.when(run.get("logs_deleted")),
    }
    return output.fields(shown, RUN_FIELDS)


def _runs_table(items: list[Any]) -> RenderableType:
    return output.table(
        ["RUN", "STATE", "STATUS", "VERSION", "TRIGGER", "CREATED", "DURATION"],
        (
            [
                run.get("id"),
                output.styled(run.get("state")),
                output.styled(run.get("status") if run.get("state") == "complete" else None),
                version(run),
                _trigger(run.get("trigger")),
                output.when(run.get("created")),
                output.duration(output.seconds(run.get("started"), run.get("ended"))),
            ]
            for run in items
        ),
    )


@app.command()
@common.handles_errors
def start(
    ctx: typer.Context,
    pipeline: PipelineId,
    namespace: common.Namespace = "default",
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="KEY=VALUE",
            help="Run variable; repeat for several. KEY= sets an empty value.",
            show_default=False,
        ),
    ] = None,
    follow_: Annotated[
        bool,
        typer.Option(
            "-f",
            "--follow",
            help="Watch the run until it completes; exit 0 if successful, 1 if failed, "
            "3 if cancelled.",
        ),
    ] = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Start a run of the pipeline's live version, or of a canary's when its share says so."""
    variables = common.parse_variables(var)
    settings = common.state(ctx)
    with common.client(ctx) as api:
        run = api.start_run(namespace, pipeline, variables)
        if fmt is output.Format.TABLE:
            output.say(f"{follow.run_name(run)}: started on version {version(run)}")
        elif not follow_:
            output.data(run, fmt)
        if follow_:
            follow.follow(api, run, fmt=fmt, interval=settings.poll_interval, sleep=settings.sleep)


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    pipeline: PipelineId,
    namespace: common.Namespace = "default",
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="Show only runs in this state (pending, running, complete); repeatable.",
            show_default=False,
        ),
    ] = None,
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the runs of a pipeline, newest first."""
    with common.client(ctx) as api:
        page = common.page(
            api,
            api.list_runs,
            namespace,
            pipeline,
            state=state,
            limit=limit,
            cursor=cursor,
            every=every,
        )
    output.show_page(page, fmt, _runs_table)


@app.command()
@common.handles_errors
def get(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Show a run and, in a table, its task executions."""
    with common.client(ctx) as api:
        answer = api.get_run(namespace, pipeline, run)
        if fmt is not output.Format.TABLE:
            output.data(answer, fmt)
            return
        tasks = list(api.iterate(api.list_tasks, namespace, pipeline, run))
    output.stdout().print(Group(_run_fields(answer), "", follow.task_table(tasks)))


@app.command()
@common.handles_errors
def cancel(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    namespace: common.Namespace = "default",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait", help="Wait until the run is complete and show how it ended."
        ),
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait with --wait.")
    ] = 60.0,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Cancel a run: its running tasks are stopped and waiting ones will not start.

    With -o json, prints the cancel answer ({run, result}) with --no-wait, and the final run
    with --wait.
    """
    settings = common.state(ctx)
    with common.client(ctx) as api:
        answer = api.cancel_run(namespace, pipeline, run)
        current: dict[str, Any] = answer["run"]
        if not wait:
            if fmt is output.Format.TABLE:
                output.say(f"{follow.run_name(current)}: {_cancel_result(answer)}")
            else:
                output.data(answer, fmt)
            return
        waited, step = 0.0, max(settings.poll_interval, 0.01)
        while current.get("state") != "complete":
            if waited >= timeout:
                raise common.Failure(
                    f"{follow.run_name(current)}: still {current.get('state')} after {timeout:g}s",
                    hint=f"see how it goes with: hostler run get {pipeline} {run} -n {namespace}",
                )
            settings.sleep(step)
            waited += step
            current = api.get_run(namespace, pipeline, run)
    if fmt is output.Format.TABLE:
        output.say(follow.outcome(current), style=output.status_style(current.get("status")))
    else:
        output.data(current, fmt)


@app.command()
@common.handles_errors
def retry(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    task: Annotated[
        str,
        typer.Option(
            "--task", "-t", help="The task to run again (it must have failed).", show_default=False
        ),
    ],
    namespace: common.Namespace = "default",
    follow_: Annotated[
        bool,
        typer.Option(
            "-f",
            "--follow",
            help="Watch the run until it completes again; exit 0 if successful, 1 if failed, "
            "3 if cancelled.",
        ),
    ] = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Run a failed task again inside its run, then the tasks that were skipped because of it.

    The task's earlier attempts stay in the run; a complete run is reopened and ends again when
    the new attempts do.
    """
    settings = common.state(ctx)
    with common.client(ctx) as api:
        answer = api.retry_run(namespace, pipeline, run, task)
        if fmt is output.Format.TABLE:
            retried = ", ".join(follow.task_label(a) for a in answer["attempts"])
            output.say(f"{follow.run_name(answer['run'])}: retrying {retried}")
        elif not follow_:
            output.data(answer, fmt)
        if follow_:
            follow.follow(
                api, answer["run"], fmt=fmt, interval=settings.poll_interval, sleep=settings.sleep
            )


@app.command("delete-logs")
@common.handles_errors
def delete_logs(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    namespace: common.Namespace = "default",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking for confirmation.")
    ] = False,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Delete the task logs of a complete run; the run, its tasks and their outcomes stay."""
    name = f"run '{namespace}/{pipeline}#{run}'"
    if not yes and not common.confirm(
        f"Delete the task logs of {name}?",
        refused=f"{name}: not deleting its logs without confirmation",
        hint="add --yes to delete them without asking",
        declined="Nothing deleted.",
    ):
        return
    with common.client(ctx) as api:
        answer = api.delete_run_logs(namespace, pipeline, run)
    if fmt is not output.Format.TABLE:
        output.data(answer, fmt)
    elif answer.get("result") == "deleted":
        output.say(f"{follow.run_name(answer['run'])}: task logs deleted")
    else:
        output.say(f"{follow.run_name(answer['run'])}: unchanged (its logs were deleted already)")


def _cancel_result(answer: dict[str, Any]) -> str:
    run = answer["run"]
    if answer.get("result") == "cancelling":
        return "cancelling"
    if run.get("state") == "complete":
        return f"unchanged (already complete: {run.get('status')})"
    return "unchanged (already cancelling)"
