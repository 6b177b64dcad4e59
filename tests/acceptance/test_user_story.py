"""The whole user story of the core engine, through the real CLI against the real server."""

from __future__ import annotations

import json
import pathlib
import subprocess
import time

import pytest

from .conftest import Server

pytestmark = pytest.mark.docker

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def write(tmp_path: pathlib.Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_namespaces_are_created_listed_and_unchanged_when_identical(server: Server) -> None:
    ok(server.cli("namespace", "create", "team-a"))
    again = server.cli("namespace", "create", "team-a")
    assert "unchanged" in ok(again)
    page = json.loads(ok(server.cli("namespace", "list", "-o", "json")))
    names = [n["name"] for n in page["items"]]
    assert {"default", "team-a"} <= set(names)


def test_hello_is_registered_run_followed_and_its_logs_read(server: Server) -> None:
    first = ok(server.cli("pipeline", "up", str(EXAMPLES / "hello.yaml"), "-y"))
    assert "version 1" in first
    again = ok(server.cli("pipeline", "up", str(EXAMPLES / "hello.yaml")))
    assert again.strip() == "Up-to-date."
    # The SDK file describes the same pipeline, so it is up to date too.
    same = ok(server.cli("pipeline", "up", str(EXAMPLES / "hello.py")))
    assert same.strip() == "Up-to-date."

    pipeline = json.loads(ok(server.cli("pipeline", "get", "hello", "-o", "json")))
    assert pipeline["live_version"] == 1

    followed = server.cli("run", "start", "hello", "--follow")
    out = ok(followed)
    assert "successful" in out
    for task in ("fetch", "test-a", "test-b", "report"):
        assert task in out

    runs = json.loads(ok(server.cli("run", "list", "hello", "-o", "json")))["items"]
    run_id = str(runs[0]["id"])
    run = json.loads(ok(server.cli("run", "get", "hello", run_id, "-o", "json")))
    assert (run["state"], run["status"]) == ("complete", "successful")

    tasks = json.loads(ok(server.cli("task", "list", "hello", run_id, "-o", "json")))["items"]
    assert {t["task"]: t["status"] for t in tasks} == dict.fromkeys(
        ("fetch", "test-a", "test-b", "report"), "successful"
    )
    # The containers are removed by now; the stored log remains.
    assert ok(server.cli("task", "logs", "hello", run_id, "test-a")).splitlines() == ["a"]
    assert ok(server.cli("task", "logs", "hello", run_id, "report", "--follow")).splitlines() == [
        "done"
    ]


def test_run_variables_reach_the_task_and_beat_its_env(
    server: Server, tmp_path: pathlib.Path
) -> None:
    path = write(
        tmp_path,
        "vars.yaml",
        """
id: vars
tasks:
  - id: show
    image: busybox:stable
    command: ["sh", "-c", "echo $GREETING $HOSTLER_PIPELINE"]
    env: {GREETING: from-env}
""",
    )
    ok(server.cli("pipeline", "up", path, "-y"))
    started = json.loads(
        ok(
            server.cli(
                "run", "start", "vars", "--var", "GREETING=from-var", "--follow", "-o", "json"
            )
        )
    )
    assert started["status"] == "successful"
    logs = ok(server.cli("task", "logs", "vars", str(started["id"]), "show"))
    assert logs.splitlines() == ["from-var vars"]


def test_a_failed_run_makes_follow_exit_non_zero(server: Server, tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "fails.yaml",
        """
id: fails
tasks:
  - {id: build, image: "busybox:stable", command: ["sh", "-c", "exit 4"]}
  - {id: ship, image: "busybox:stable", command: ["true"], depends_on: {build: success}}
""",
    )
    ok(server.cli("pipeline", "up", path, "-y"))
    result = server.cli("run", "start", "fails", "--follow")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout
    assert "Traceback" not in result.stderr
    run = json.loads(ok(server.cli("run", "list", "fails", "-o", "json")))["items"][0]
    tasks = json.loads(ok(server.cli("task", "list", "fails", str(run["id"]), "-o", "json")))[
        "items"
    ]
    by_id = {t["task"]: t for t in tasks}
    assert by_id["build"]["exit_code"] == 4
    assert by_id["ship"]["status"] == "skipped"


def test_cancel_stops_a_running_run(server: Server, tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "long.yaml",
        """
id: long
tasks:
  - {id: wait, image: "busybox:stable", command: ["sh", "-c", "echo started; sleep 300"]}
""",
    )
    ok(server.cli("pipeline", "up", path, "-y"))
    run = json.loads(ok(server.cli("run", "start", "long", "-o", "json")))
    follower = server.popen("task", "logs", "long", str(run["id"]), "wait", "--follow")
    deadline = time.monotonic() + 30
    while (
        json.loads(ok(server.cli("task", "get", "long", str(run["id"]), "wait", "-o", "json")))[
            "state"
        ]
        != "running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cancelled = server.cli("run", "cancel", "long", str(run["id"]), "-o", "json")
    assert json.loads(ok(cancelled))["status"] == "cancelled"
    out, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert out.splitlines() == ["started"]


def test_bad_input_gets_clear_errors_and_no_traceback(
    server: Server, tmp_path: pathlib.Path
) -> None:
    broken = write(tmp_path, "broken.yaml", "id: broken\ntasks:\n  - id: a\n   image: x\n")
    result = server.cli("pipeline", "up", broken, "-y")
    assert result.returncode != 0
    assert "line 4" in result.stderr
    assert "Traceback" not in result.stderr

    cycle = write(
        tmp_path,
        "cycle.yaml",
        """
id: cycle
tasks:
  - {id: a, image: x, depends_on: {b: success}}
  - {id: b, image: x, depends_on: {a: success}}
""",
    )
    result = server.cli("pipeline", "up", cycle, "-y")
    assert result.returncode == 1
    assert "cycle" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.cli("pipeline", "get", "cycle").returncode == 1

    missing = server.cli("run", "start", "nope")
    assert missing.returncode == 1
    assert "pipeline 'default/nope': not found" in missing.stderr

    missing_ns = server.cli("pipeline", "list", "-n", "nowhere")
    assert "namespace 'nowhere': not found" in missing_ns.stderr

    bad_var = server.cli("run", "start", "hello", "--var", "NOEQUALS")
    assert bad_var.returncode == 2
    assert "Traceback" not in bad_var.stderr


def test_config_default_prints_a_documented_file(server: Server) -> None:
    text = ok(server.cli("config", "default"))
    assert "[server]" in text
    assert "port = 8080" in text
