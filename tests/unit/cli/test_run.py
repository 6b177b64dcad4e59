"""``hostler run``: start (and follow), list, get, cancel, retry, delete-logs."""

from __future__ import annotations

import io
import json
from typing import Any

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
    assert done.stdout == "run 'default/hello#1': started on version 1\n"
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
        "run 'default/hello#1': started on version 1",
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


def retried_answer() -> dict[str, Any]:
    """Return the API's answer to a retry of ``build`` that also reruns ``deploy``."""
    build = {**canned.task("build", "waiting"), "attempt": 2}
    deploy = {**canned.task("deploy", "waiting"), "attempt": 2, "position": 1}
    return {"run": canned.run("running"), "attempts": [build, deploy]}


def test_run_retry_sends_the_task_and_says_what_is_retried(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", f"{RUNS}/1/retry", (202, retried_answer()))

    done = invoke("run", "retry", "hello", "1", "--task", "build")

    assert done.exit_code == 0, done.output
    assert done.stdout == (
        "run 'default/hello#1': retrying build (attempt 2), deploy (attempt 2)\n"
    )
    assert api.bodies("POST", f"{RUNS}/1/retry") == [{"task": "build"}]


def test_run_retry_in_another_namespace_with_the_short_option(api: FakeApi, invoke: Invoke) -> None:
    path = "/namespaces/team/pipelines/hello/runs/1/retry"
    answer = retried_answer()
    answer["attempts"] = answer["attempts"][:1]
    api.on("POST", path, (202, answer))

    done = invoke("run", "retry", "hello", "1", "-t", "build", "-n", "team")

    assert done.exit_code == 0, done.output
    assert done.stdout.endswith(": retrying build (attempt 2)\n")
    assert api.bodies("POST", path) == [{"task": "build"}]


def test_run_retry_json_prints_the_answer(api: FakeApi, invoke: Invoke) -> None:
    api.on("POST", f"{RUNS}/1/retry", (202, retried_answer()))

    done = invoke("run", "retry", "hello", "1", "--task", "build", "-o", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == retried_answer()


def test_run_retry_without_a_task_is_a_usage_error(api: FakeApi, invoke: Invoke) -> None:
    done = invoke("run", "retry", "hello", "1")

    assert done.exit_code == 2
    assert "--task" in done.stderr
    assert api.requests == []


def test_run_retry_shows_an_api_error_without_a_traceback(api: FakeApi, invoke: Invoke) -> None:
    detail = (
        "task 'build' of run 'default/hello#1': is successful; only a task that ended failed, "
        "lost or cancelled can be retried"
    )
    hint = "wait for the task to end, or pick a task that failed"
    api.on(
        "POST",
        f"{RUNS}/1/retry",
        (409, canned.problem(409, "failed_precondition", detail, field="task", hint=hint)),
    )

    done = invoke("run", "retry", "hello", "1", "--task", "build")

    assert done.exit_code == 1
    assert done.stderr == f"error: {detail}\nhint: {hint}\n"
    assert done.stdout == ""
    assert "Traceback" not in done.output


def test_run_retry_of_a_missing_run_is_shown_and_exits_non_zero(
    api: FakeApi, invoke: Invoke
) -> None:
    detail = "run 'default/hello#9': not found"
    api.on("POST", f"{RUNS}/9/retry", (404, canned.problem(404, "not_found", detail, field="run")))

    done = invoke("run", "retry", "hello", "9", "--task", "build", "-o", "json")

    assert done.exit_code == 1
    assert done.stderr == f"error: {detail}\n"
    assert "Traceback" not in done.output


@pytest.mark.parametrize(("status", "code"), [("successful", 0), ("failed", 1)])
def test_run_retry_follow_watches_the_run_to_its_new_end(
    api: FakeApi, invoke: Invoke, sleeps: list[float], status: str, code: int
) -> None:
    api.on("POST", f"{RUNS}/1/retry", (202, retried_answer()))
    api.on(
        "GET",
        f"{RUNS}/1",
        (200, canned.run("running")),
        (200, canned.run("complete", status, ended=ENDED)),
    )
    build = {**canned.task("build", "complete", status, exit_code=code), "attempt": 2}
    api.on("GET", f"{RUNS}/1/tasks", (200, canned.page(build)))

    done = invoke("run", "retry", "hello", "1", "--task", "build", "--follow")

    assert done.exit_code == code, done.output
    lines = done.stdout.splitlines()
    assert lines[0] == "run 'default/hello#1': retrying build (attempt 2), deploy (attempt 2)"
    assert lines[-1] == f"run 'default/hello#1': {status} in 3.2s"


def logs_deleted_answer(result: str) -> dict[str, Any]:
    """Return the API's answer to a request to delete the logs of run 1."""
    run = {**canned.run("complete", "successful", ended=ENDED), "logs_deleted": ENDED}
    return {"run": run, "result": result}


def test_run_delete_logs_with_yes_deletes_and_says_so(api: FakeApi, invoke: Invoke) -> None:
    api.on("DELETE", f"{RUNS}/1/logs", (200, logs_deleted_answer("deleted")))

    done = invoke("run", "delete-logs", "hello", "1", "--yes")

    assert done.exit_code == 0, done.output
    assert done.stdout == "run 'default/hello#1': task logs deleted\n"
    assert len(api.requests) == 1


def test_run_delete_logs_again_says_unchanged_and_json_is_the_answer(
    api: FakeApi, invoke: Invoke
) -> None:
    api.on("DELETE", f"{RUNS}/1/logs", (200, logs_deleted_answer("unchanged")))

    said = invoke("run", "delete-logs", "hello", "1", "-y")
    as_json = invoke("run", "delete-logs", "hello", "1", "-y", "-o", "json")

    assert said.stdout == "run 'default/hello#1': unchanged (its logs were deleted already)\n"
    assert json.loads(as_json.stdout) == logs_deleted_answer("unchanged")


def test_run_delete_logs_without_yes_and_without_a_terminal_deletes_nothing(
    api: FakeApi, invoke: Invoke
) -> None:
    done = invoke("run", "delete-logs", "hello", "1")

    assert done.exit_code == 1
    assert "not deleting its logs without confirmation" in done.stderr
    assert "--yes" in done.stderr
    assert "Traceback" not in done.stderr
    assert api.requests == []


def test_run_delete_logs_of_a_running_run_shows_the_servers_error(
    api: FakeApi, invoke: Invoke
) -> None:
    problem = {
        "type": "https://hostler.dev/problems/failed_precondition",
        "title": "Failed precondition",
        "status": 409,
        "code": "failed_precondition",
        "detail": "run 'default/hello#1': is running; the logs of a run are deleted once it is "
        "complete",
        "field": "run",
        "hint": "wait for the run to complete, or cancel it first",
    }
    api.on("DELETE", f"{RUNS}/1/logs", (409, problem))

    done = invoke("run", "delete-logs", "hello", "1", "--yes")

    assert done.exit_code == 1
    assert "is running" in done.stderr
    assert "Traceback" not in done.stderr
