"""``hostler task``: the task executions of a run, and their logs."""

from __future__ import annotations

import enum
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from hostler.cli import common, follow, output

app = typer.Typer(help="Task executions: the tasks of one run, and their logs.")

PipelineId = Annotated[str, typer.Argument(help="Identifier of the pipeline.", show_default=False)]
RunId = Annotated[int, typer.Argument(help="Number of the run.", show_default=False)]
TaskId = Annotated[str, typer.Argument(help="Identifier of the task.", show_default=False)]
Attempt = Annotated[
    int | None,
    typer.Option("--attempt", min=1, help="Attempt of the task; the latest by default."),
]


class LogFormat(enum.StrEnum):
    """How log lines are printed."""

    TEXT = "text"
    JSON = "json"


@app.command("list")
@common.handles_errors
def list_(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    namespace: common.Namespace = "default",
    fmt: output.OutputFormat = output.Format.TABLE,
    limit: common.Limit = 50,
    cursor: common.Cursor = None,
    every: common.All = False,
) -> None:
    """List the task executions of a run."""
    with common.client(ctx) as api:
        page = common.page(
            api, api.list_tasks, namespace, pipeline, run, limit=limit, cursor=cursor, every=every
        )
    output.show_page(page, fmt, follow.task_table)


@app.command()
@common.handles_errors
def get(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    task: TaskId,
    namespace: common.Namespace = "default",
    attempt: Attempt = None,
    fmt: output.OutputFormat = output.Format.TABLE,
) -> None:
    """Show one task execution: its state, status, reason, exit code and image digest."""
    with common.client(ctx) as api:
        answer = api.get_task(namespace, pipeline, run, task, attempt=attempt)
    output.show(answer, fmt, _fields)


def _fields(execution: dict[str, Any]) -> RenderableType:
    shown = {
        **execution,
        **{k: output.when(execution.get(k)) for k in ("queued", "started", "ended")},
    }
    return output.fields(
        shown,
        [
            "task",
            "attempt",
            "state",
            "status",
            "reason",
            "exit_code",
            "image_digest",
            "container",
            "queued",
            "started",
            "ended",
        ],
        title=f"{execution.get('namespace')}/{execution.get('pipeline')}#{execution.get('run')}",
    )


def _write(line: dict[str, Any], fmt: LogFormat) -> None:
    # Plain writes: log text is the task's own output, never Rich markup.
    if fmt is LogFormat.JSON:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:
        text = str(line.get("text", ""))
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
@common.handles_errors
def logs(
    ctx: typer.Context,
    pipeline: PipelineId,
    run: RunId,
    task: TaskId,
    namespace: common.Namespace = "default",
    attempt: Attempt = None,
    follow_: Annotated[
        bool,
        typer.Option("-f", "--follow", help="Keep printing new lines until the log ends."),
    ] = False,
    fmt: Annotated[
        LogFormat,
        typer.Option(
            "-o",
            "--output",
            help="text: the lines as the task wrote them; json: one log line object per line.",
            case_sensitive=False,
        ),
    ] = LogFormat.TEXT,
) -> None:
    """Print the log of a task execution (stdout and stderr, in order)."""
    with common.client(ctx) as api:
        if follow_:
            try:
                for event in api.follow_logs(namespace, pipeline, run, task, attempt=attempt):
                    if event.event == "line":
                        _write(event.json(), fmt)
                        sys.stdout.flush()
            except KeyboardInterrupt:
                raise typer.Exit(follow.INTERRUPTED) from None
            return
        offset = 0
        while True:
            answer = api.read_logs(namespace, pipeline, run, task, attempt=attempt, offset=offset)
            for line in answer.get("lines", []):
                _write(line, fmt)
            if not answer.get("lines") or answer.get("next_offset", offset) <= offset:
                break
            offset = int(answer["next_offset"])
    sys.stdout.flush()
