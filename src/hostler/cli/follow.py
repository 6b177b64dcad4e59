"""Following a run until it completes: a live table on a terminal, one line per change elsewhere.

Following only watches: stopping it (Ctrl-C) leaves the run running.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from rich.live import Live
from rich.table import Table

from hostler.cli import output
from hostler.sdk import client as sdk

EXIT_CODES = {"successful": 0, "failed": 1, "cancelled": 3}
"""The exit status of ``run start --follow`` by the run's final status (anything else: 1)."""

INTERRUPTED = 130
"""The exit status when following is stopped with Ctrl-C."""


def run_name(run: dict[str, Any]) -> str:
    """Return how people call a run: ``run 'default/hello#1'``."""
    return f"run '{run.get('namespace')}/{run.get('pipeline')}#{run.get('id')}'"


def exit_code(run: dict[str, Any]) -> int:
    """Return the exit status that reports the run's final status."""
    return EXIT_CODES.get(str(run.get("status")), 1)


def outcome(run: dict[str, Any]) -> str:
    """Return the sentence that reports how a complete run ended: ``... successful in 3.2s``."""
    took = output.duration(
        output.seconds(run.get("started") or run.get("created"), run.get("ended"))
    )
    sentence = f"{run_name(run)}: {run.get('status')}" + (f" in {took}" if took else "")
    reason = run.get("reason") or {}
    if run.get("status") != "successful" and reason.get("description"):
        sentence += f" ({reason['description']})"
    return sentence


def task_label(task: dict[str, Any]) -> str:
    """Return a task execution's name, with its attempt when it is a retry."""
    attempt = task.get("attempt") or 1
    return str(task.get("task")) + (f" (attempt {attempt})" if attempt > 1 else "")


def task_table(tasks: Sequence[dict[str, Any]], *, title: str | None = None) -> Table:
    """Return the table of task executions: task, state, status, duration, exit code, reason."""
    return output.table(
        ["TASK", "STATE", "STATUS", "DURATION", "EXIT CODE", "REASON"],
        (
            [
                task_label(task),
                output.styled(task.get("state")),
                output.styled(task.get("status") if task.get("state") == "complete" else None),
                output.duration(output.seconds(task.get("started"), task.get("ended"))),
                task.get("exit_code"),
                (task.get("reason") or {}).get("description"),
            ]
            for task in tasks
        ),
        title=title,
    )


def change_line(task: dict[str, Any]) -> str:
    """Return the line that reports a task's new state: ``fetch: complete successful (exit 0)``."""
    line = f"{task_label(task)}: {task.get('state')}"
    if task.get("state") != "complete":
        return line
    details = []
    if task.get("exit_code") is not None:
        details.append(f"exit {task['exit_code']}")
    reason = task.get("reason") or {}
    if task.get("status") != "successful" and reason.get("description"):
        details.append(str(reason["description"]))
    return f"{line} {task.get('status')}" + (f" ({'; '.join(details)})" if details else "")


class _Lines:
    """Prints one plain line per change of a task's state, for logs and pipes."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], tuple[str, str]] = {}

    def update(self, tasks: Sequence[dict[str, Any]]) -> None:
        for task in tasks:
            key = (str(task.get("task")), int(task.get("attempt") or 1))
            now = (str(task.get("state")), str(task.get("status")))
            if self.seen.get(key) != now:
                self.seen[key] = now
                sys.stdout.write(change_line(task) + "\n")
        sys.stdout.flush()


def watch(
    api: sdk.Client,
    run: dict[str, Any],
    *,
    interval: float,
    sleep: Callable[[float], None],
    show: Callable[[Sequence[dict[str, Any]]], None],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll ``run`` and its tasks every ``interval`` seconds until it completes.

    ``show`` gets the task executions after every poll. Returns the final run and its tasks.
    """
    key = (str(run["namespace"]), str(run["pipeline"]), int(run["id"]))
    while True:
        # The run first: when it is complete, the tasks read after it are final too.
        run = api.get_run(*key)
        tasks = list(api.iterate(api.list_tasks, *key))
        show(tasks)
        if run.get("state") == "complete":
            return run, tasks
        sleep(interval)


def follow(
    api: sdk.Client,
    run: dict[str, Any],
    *,
    fmt: output.Format,
    interval: float,
    sleep: Callable[[float], None],
) -> None:
    """Follow ``run`` to its end, report it, and exit with the status its outcome calls for.

    With a table format, shows progress (live on a terminal) and ends with a summary; with json
    or yaml, prints only the final run.
    """
    try:
        if fmt is not output.Format.TABLE:
            final, tasks = watch(api, run, interval=interval, sleep=sleep, show=lambda _: None)
        elif output.stdout().is_terminal:
            final, tasks = _watch_live(api, run, interval=interval, sleep=sleep)
        else:
            final, tasks = watch(api, run, interval=interval, sleep=sleep, show=_Lines().update)
    except KeyboardInterrupt:
        output.note(
            f"stopped following {run_name(run)}; the run goes on",
            hint=(
                f"to cancel it: hostler run cancel {run.get('pipeline')} {run.get('id')}"
                f" -n {run.get('namespace')}"
            ),
        )
        raise typer.Exit(INTERRUPTED) from None
    if fmt is output.Format.TABLE:
        console = output.stdout()
        console.print(task_table(tasks))
        output.say(outcome(final), style=output.status_style(final.get("status")))
    else:
        output.data(final, fmt)
    raise typer.Exit(exit_code(final))


def _watch_live(
    api: sdk.Client, run: dict[str, Any], *, interval: float, sleep: Callable[[float], None]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    current: list[dict[str, Any]] = []

    def show(tasks: Sequence[dict[str, Any]]) -> None:
        current[:] = tasks

    # The table is rebuilt at every refresh so that running tasks' durations keep counting.
    with Live(
        console=output.stdout(),
        get_renderable=lambda: task_table(current, title=run_name(run)),
        refresh_per_second=4,
        transient=True,
    ):
        return watch(api, run, interval=interval, sleep=sleep, show=show)
