"""``hostler task``: list a run's task executions, print and follow their logs."""

from __future__ import annotations

import json

import httpx

from . import canned
from .conftest import Invoke
from .fakeapi import FakeApi

TASKS = "/namespaces/default/pipelines/hello/runs/1/tasks"
LOGS = f"{TASKS}/fetch/logs"


def line(offset: int, text: str) -> dict[str, object]:
    return {"offset": offset, "time": "2024-05-01T12:00:01Z", "stream": "stdout", "text": text}


def test_task_list_renders_a_table_and_json(api: FakeApi, invoke: Invoke) -> None:
    page = canned.page(
        canned.task("fetch", "complete", "successful", exit_code=0),
        canned.task("test", "waiting"),
    )
    api.on("GET", TASKS, (200, page))

    table = invoke("task", "list", "hello", "1")
    as_json = invoke("task", "list", "hello", "1", "-o", "json")

    assert table.exit_code == 0, table.output
    assert "fetch" in table.stdout
    assert "2.2s" in table.stdout
    assert json.loads(as_json.stdout) == page


def test_task_logs_prints_every_stored_line_as_plain_text(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "GET",
        LOGS,
        (
            200,
            {
                "lines": [line(0, "[bold]one[/bold]"), line(1, "two")],
                "next_offset": 2,
                "ended": False,
            },
        ),
        (200, {"lines": [line(2, "three\n")], "next_offset": 3, "ended": True}),
        (200, {"lines": [], "next_offset": 3, "ended": True}),
    )

    done = invoke("task", "logs", "hello", "1", "fetch", "--attempt", "2")

    assert done.exit_code == 0, done.output
    assert done.stdout == "[bold]one[/bold]\ntwo\nthree\n"
    assert [r.url.params["offset"] for r in api.requests] == ["0", "2", "3"]
    assert all(r.url.params["attempt"] == "2" for r in api.requests)


def test_task_logs_follow_streams_lines_until_the_log_ends(api: FakeApi, invoke: Invoke) -> None:
    stream = (
        "".join(
            f"event: line\nid: {n}\ndata: {json.dumps(line(n, text))}\n\n"
            for n, text in enumerate(["starting", "[red]not red[/red]"])
        )
        + ': keep-alive\n\nevent: end\ndata: {"next_offset": 2}\n\n'
    )
    api.on("GET", LOGS, httpx.Response(200, content=stream.encode()))

    done = invoke("task", "logs", "hello", "1", "fetch", "--follow")

    assert done.exit_code == 0, done.output
    assert done.stdout == "starting\n[red]not red[/red]\n"
    assert api.requests[0].url.params["follow"] == "true"


def test_task_logs_json_prints_one_log_line_object_per_line(api: FakeApi, invoke: Invoke) -> None:
    api.on(
        "GET",
        LOGS,
        (200, {"lines": [line(0, "one")], "next_offset": 1, "ended": True}),
        (200, {"lines": [], "next_offset": 1, "ended": True}),
    )

    done = invoke("task", "logs", "hello", "1", "fetch", "-o", "json")

    assert [json.loads(text) for text in done.stdout.splitlines()] == [line(0, "one")]


def test_task_logs_of_an_unknown_task_is_an_error(api: FakeApi, invoke: Invoke) -> None:
    problem = canned.problem(404, "not_found", "task 'nope': not found in run 'default/hello#1'")
    api.on("GET", f"{TASKS}/nope/logs", (404, problem))

    done = invoke("task", "logs", "hello", "1", "nope", "-f")

    assert done.exit_code == 1
    assert done.stderr == "error: task 'nope': not found in run 'default/hello#1'\n"
