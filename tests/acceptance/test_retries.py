"""Retries on the real server and the Docker engine, driven through the real CLI."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from .conftest import Server
from .test_user_story import ok, write

pytestmark = pytest.mark.docker


def attempts(server: Server, pipeline: str, run: int) -> list[dict[str, Any]]:
    """Return every task execution of the run, every attempt, in pipeline order."""
    answer = json.loads(ok(server.cli("task", "list", pipeline, str(run), "-o", "json")))
    items: list[dict[str, Any]] = answer["items"]
    return items


def test_a_task_failing_twice_succeeds_on_its_third_attempt(
    server: Server, tmp_path: pathlib.Path
) -> None:
    path = write(
        tmp_path,
        "flaky.yaml",
        """
id: flaky
tasks:
  - id: test
    image: busybox:stable
    command: ["sh", "-c", "echo attempt $HOSTLER_ATTEMPT; [ $HOSTLER_ATTEMPT -ge 3 ] || exit 75"]
    retries: {attempts: 3, backoff: 0.2s, on_exit_codes: [75]}
  - {id: ship, image: "busybox:stable", command: ["echo", "shipped"], depends_on: {test: success}}
""",
    )
    ok(server.cli("pipeline", "up", path, "-y"))
    run = json.loads(ok(server.cli("run", "start", "flaky", "--follow", "-o", "json")))

    assert run["status"] == "successful"
    found = [
        (t["task"], t["attempt"], t["status"], t["exit_code"])
        for t in attempts(server, "flaky", run["id"])
    ]
    assert found == [
        ("test", 1, "failed", 75),
        ("test", 2, "failed", 75),
        ("test", 3, "successful", 0),
        ("ship", 1, "successful", 0),
    ]
    for attempt in (1, 2, 3):
        log = ok(
            server.cli("task", "logs", "flaky", str(run["id"]), "test", "--attempt", str(attempt))
        )
        assert log.splitlines() == [f"attempt {attempt}"]


def test_run_retry_reruns_the_failed_task_and_its_skipped_dependents(
    server: Server, tmp_path: pathlib.Path
) -> None:
    path = write(
        tmp_path,
        "fixable.yaml",
        """
id: fixable
tasks:
  - id: build
    image: busybox:stable
    command: ["sh", "-c", "[ $HOSTLER_ATTEMPT -ge 2 ] || exit 4"]
  - {id: test, image: "busybox:stable", command: ["true"], depends_on: {build: success}}
  - {id: ship, image: "busybox:stable", command: ["true"], depends_on: {test: success}}
  - {id: notify, image: "busybox:stable", command: ["true"], depends_on: {build: any}}
""",
    )
    ok(server.cli("pipeline", "up", path, "-y"))
    failed = server.cli("run", "start", "fixable", "--follow")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    run = json.loads(ok(server.cli("run", "list", "fixable", "-o", "json")))["items"][0]["id"]

    retried = ok(server.cli("run", "retry", "fixable", str(run), "--task", "build", "--follow"))

    assert "retrying build (attempt 2), test (attempt 2), ship (attempt 2)" in retried
    final = json.loads(ok(server.cli("run", "get", "fixable", str(run), "-o", "json")))
    assert (final["state"], final["status"]) == ("complete", "successful")
    found = [(t["task"], t["attempt"], t["status"]) for t in attempts(server, "fixable", run)]
    assert found == [
        ("build", 1, "failed"),
        ("build", 2, "successful"),
        ("test", 1, "skipped"),
        ("test", 2, "successful"),
        ("notify", 1, "successful"),
        ("ship", 1, "skipped"),
        ("ship", 2, "successful"),
    ]
    again = server.cli("run", "retry", "fixable", str(run), "--task", "build")
    assert again.returncode != 0
    assert "only a task that ended failed, lost or cancelled can be retried" in again.stderr
    assert "Traceback" not in again.stderr
