"""Deleting a run's task logs on the real server, through the real CLI."""

from __future__ import annotations

import json
import pathlib

import pytest

from .conftest import Server
from .test_user_story import ok, write

pytestmark = pytest.mark.docker


def test_delete_logs_removes_the_logs_and_keeps_the_run(
    server: Server, tmp_path: pathlib.Path
) -> None:
    path = write(
        tmp_path,
        "chatty.yaml",
        """
id: chatty
tasks:
  - {id: talk, image: "busybox:stable", command: ["sh", "-c", "echo one; echo two"]}
""",
    )
    ok(server.cli("pipeline", "up", path, "-y"))
    run = json.loads(ok(server.cli("run", "start", "chatty", "--follow", "-o", "json")))["id"]
    assert ok(server.cli("task", "logs", "chatty", str(run), "talk")).splitlines() == ["one", "two"]

    said = ok(server.cli("run", "delete-logs", "chatty", str(run), "--yes"))

    assert said.strip() == f"run 'default/chatty#{run}': task logs deleted"
    gone = server.cli("task", "logs", "chatty", str(run), "talk")
    assert gone.returncode != 0
    assert "deleted with the logs of run" in gone.stderr
    assert "Traceback" not in gone.stderr
    task = json.loads(ok(server.cli("task", "get", "chatty", str(run), "talk", "-o", "json")))
    assert (task["status"], task["exit_code"]) == ("successful", 0)
    kept = json.loads(ok(server.cli("run", "get", "chatty", str(run), "-o", "json")))
    assert kept["status"] == "successful"
    assert kept["logs_deleted"] is not None
