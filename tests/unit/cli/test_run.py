"""``hostler run``: start (and follow), list, get, cancel."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from rich.console import Console

from hostler.cli import output

from . import canned
from .conftest import Invoke
from .fakeapi import FakeApi

RUNS = "/namespaces/default/pipelines/hello/runs"
ENDED = "2024-05-01T12:00:03.200000Z"


def test_run_start_sends_variables_and_says_started(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", RUNS, (201, canned.run()))

    done = invoke(
        "run", "start", "hello", "--var", "GREETING=hi", "--var", "EMPTY=", "--var", "X=a=b"
    )

    assert done.exit_code == 0, done.output
    assert done.stdout == "run 'default/hello#1': started (version 1)\n"
    assert api.bodies("POST", RUNS) == [{"variables": {"GREETING": "hi", "EMPTY": "", "X": "a=b"}}]


def test_run_start_json_is_the_new_run(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", RUNS, (201, canned.run()))

    done = invoke("run", "start", "hello", "-o", "json")

    assert json.loads(done.stdout) == canned.run()


@pytest.mark.parametrize("flag", ["GREETING", "=hi"])
def test_run_start_var_without_key_and_equals_is_a_usage_error(
    api: FakeApi, invoke: Invoke, flag: str
) -> None:
    done = invoke("run", "start", "hello", "--var", flag)

    assert done.exit_code == 2
    assert "--var" in done.stderr
    assert "KEY=VALUE" in done.stderr
    assert api.requests == []


def follow_routes(api: FakeApi, status: str, exit_code: int) -> None:
    api.on("POST", RUNS, (201, canned.run()))
    api.on(
        "GET",
        f"{RUNS}/1",
        (200, canned.run("running")),
        (200, canned.run("running")),
        (200, canned.run("complete", status, ended=ENDED)),
    )
    api.on(
        "GET",
        f"{RUNS}/1/tasks",
        (200, canned.page(canned.task("fetch", "waiting"))),
        (200, canned.page(canned.task("fetch", "running"))),
        (200, canned.page(canned.task("fetch", "complete", status, exit_code=exit_code))),
    )


@pytest.mark.parametrize(
    ("status", "task_exit", "code"),
    [("successful", 0, 0), ("failed", 2, 1), ("cancelled", 137, 3)],
)
def test_run_start_follow_prints_one_line_per_change_and_exits_by_status(
    api: FakeApi, invoke: Invoke, sleeps: list[float], status: str, task_exit: int, code: int
) -> None:
    follow_routes(api, status, task_exit)

    done = invoke("run", "start", "hello", "--follow")

    assert done.exit_code == code, done.output
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "run 'default/hello#1': started (version 1)",
        "fetch: waiting",
        "fetch: running",
        f"fetch: complete {status} (exit {task_exit})",
    ]
    assert lines[-1] == f"run 'default/hello#1': {status} in 3.2s"
    assert any("EXIT CODE" in line for line in lines)
    assert sleeps == [0.5, 0.5]


def test_run_start_follow_json_prints_only_the_final_run(api: FakeApi, invoke: Invoke) -> None:
    follow_routes(api, "failed", 1)

    done = invoke("run", "start", "hello", "-f", "-o", "json")

    assert done.exit_code == 1
    assert json.loads(done.stdout) == canned.run("complete", "failed", ended=ENDED)


def test_run_start_follow_on_a_terminal_ends_with_a_summary(
    api: FakeApi, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    follow_routes(api, "successful", 0)
    screen = io.StringIO()
    monkeypatch.setattr(
        output, "stdout", lambda: Console(file=screen, force_terminal=True, width=120)
    )

    done = invoke("run", "start", "hello", "--follow")

    assert done.exit_code == 0, done.output
    shown = screen.getvalue()
    assert "EXIT CODE" in shown
    assert "run 'default/hello#1': successful in 3.2s" in shown


def test_ctrl_c_while_following_leaves_the_run_and_says_how_to_cancel(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("POST", RUNS, (201, canned.run()))

    def interrupted(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    api.on("GET", f"{RUNS}/1", interrupted)

    done = invoke("run", "start", "hello", "--follow")

    assert done.exit_code == 130
    assert "stopped following run 'default/hello#1'" in done.stderr
    assert "hostler run cancel hello 1 -n default" in done.stderr
    assert [r.method for r in api.requests] == ["POST", "GET"]


def test_run_list_filters_by_state_and_renders_a_table(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", RUNS, (200, canned.page(canned.run("running"))))

    done = invoke("run", "list", "hello", "--state", "running", "--state", "pending")

    assert done.exit_code == 0, done.output
    assert "running" in done.stdout
    assert "manual" in done.stdout
    assert api.requests[0].url.params.get_list("state") == ["running", "pending"]


def test_run_get_shows_the_run_and_its_tasks(api: FakeApi, invoke: Invoke) -> None:
    api.on("GET", f"{RUNS}/1", (200, canned.run("complete", "successful", ended=ENDED)))
    api.on(
        "GET",
        f"{RUNS}/1/tasks",
        (200, canned.page(canned.task("fetch", "complete", "successful", exit_code=0))),
    )

    table = invoke("run", "get", "hello", "1")
    as_json = invoke("run", "get", "hello", "1", "-o", "json")

    assert table.exit_code == 0, table.output
    assert "successful" in table.stdout
    assert "fetch" in table.stdout
    assert json.loads(as_json.stdout) == canned.run("complete", "successful", ended=ENDED)


def test_run_cancel_waits_until_the_run_is_complete(
    api: FakeApi, invoke: Invoke, sleeps: list[float]
) -> None:
    cancelling = {**canned.run("running"), "cancel_requested": True}
    api.on("POST", f"{RUNS}/1/cancel", (202, {"run": cancelling, "result": "cancelling"}))
    api.on(
        "GET",
        f"{RUNS}/1",
        (200, cancelling),
        (200, canned.run("complete", "cancelled", ended=ENDED)),
    )

    done = invoke("run", "cancel", "hello", "1")

    assert done.exit_code == 0, done.output
    assert done.stdout == "run 'default/hello#1': cancelled in 3.2s\n"
    assert sleeps == [0.5, 0.5]


def test_run_cancel_gives_up_waiting_after_the_timeout(
    api: FakeApi, invoke: Invoke, sleeps: list[float]
) -> None:
    cancelling = {**canned.run("running"), "cancel_requested": True}
    api.on("POST", f"{RUNS}/1/cancel", (202, {"run": cancelling, "result": "cancelling"}))
    api.on("GET", f"{RUNS}/1", (200, cancelling))

    done = invoke("run", "cancel", "hello", "1", "--timeout", "2")

    assert done.exit_code == 1
    assert done.stderr.startswith("error: run 'default/hello#1': still running after 2s")
    assert sleeps == [0.5] * 4


def test_run_cancel_no_wait_prints_the_answer(api: FakeApi, invoke: Invoke) -> None:
    done_run = canned.run("complete", "successful", ended=ENDED)
    answer = {"run": done_run, "result": "unchanged"}
    api.on("POST", f"{RUNS}/1/cancel", (200, answer))

    said = invoke("run", "cancel", "hello", "1", "--no-wait")
    as_json = invoke("run", "cancel", "hello", "1", "--no-wait", "-o", "json")

    assert said.stdout == "run 'default/hello#1': unchanged (already complete: successful)\n"
    assert json.loads(as_json.stdout) == answer
