"""The event log through the real CLI against the real server: every change once, in order."""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.docker

PIPELINE = """
id: evs
tasks:
  - {id: first, image: "busybox:stable", command: ["sh", "-c", "echo one"]}
  - id: second
    image: "busybox:stable"
    command: ["sh", "-c", "sleep 3; echo two"]
    depends_on: {first: success}
"""


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


class Follower:
    """``hostler event follow -o json ARGS`` in the background, its events read as they come."""

    def __init__(self, server: Server, *args: str) -> None:
        self.process = server.popen("event", "follow", "-o", "json", *args)
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            self.events.append(json.loads(text))

    def wait_for(self, kind: str, task: str | None = None, timeout: float = 60) -> None:
        """Wait until an event of ``kind`` (about ``task``) has been printed."""
        deadline = time.monotonic() + timeout
        while not any(e["kind"] == kind and e["task"] == task for e in list(self.events)):
            assert self.process.poll() is None, self.process.stderr
            assert time.monotonic() < deadline, f"no {kind} {task or ''} in {self.events}"
            time.sleep(0.05)

    def interrupt(self) -> str:
        """Press Ctrl-C; return what it printed on stderr."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        self._reader.join(10)
        assert self.process.returncode == 130, err
        return err


def assert_one_event_per_change(life: list[dict[str, Any]]) -> None:
    """Assert that a task's events chain its states from waiting to complete, each once.

    A task claimed as soon as it is ready goes from waiting to starting in one write, so it has
    no ``task.queued``; one that waits for capacity has one.
    """
    states = ["waiting", *(e["data"]["state"] for e in life)]
    assert [e["data"]["previous_state"] for e in life] == states[:-1], life
    assert [e["kind"] for e in life] == [f"task.{state}" for state in states[1:]]
    assert {"starting", "running", "complete"} <= set(states)
    assert len(states) == len(set(states)), life
    assert life[-1]["data"]["status"] == "successful"


def test_a_run_is_recorded_once_per_change_and_a_resumed_follower_misses_nothing(
    server: Server, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "evs.yaml"
    path.write_text(PIPELINE)
    ok(server.cli("pipeline", "up", str(path), "-y"))
    follow_args = ("-p", "evs", "--run", "1")
    first = Follower(server, *follow_args)
    run = json.loads(ok(server.cli("run", "start", "evs", "-o", "json")))
    assert run["id"] == 1

    # Disconnect in the middle of the run, then resume after the last event seen.
    first.wait_for("task.complete", "first")
    assert first.interrupt() == ""
    resumed = Follower(server, *follow_args, "--after", str(first.events[-1]["id"]))
    resumed.wait_for("run.complete")
    resumed.interrupt()

    listed = json.loads(
        ok(server.cli("event", "list", "-o", "json", "-p", "evs", "--run", "1", "--all"))
    )["items"]
    ids = [e["id"] for e in listed]
    assert ids == sorted(set(ids))
    assert [e["kind"] for e in listed if e["task"] is None] == [
        "run.created",
        "run.running",
        "run.complete",
    ]
    for task in ("first", "second"):
        assert_one_event_per_change([e for e in listed if e["task"] == task])
    assert listed[-1]["data"]["status"] == "successful"
    assert [e["id"] for e in first.events + resumed.events] == ids


def test_event_list_filters_by_kind_and_refuses_an_unknown_one(server: Server) -> None:
    created = json.loads(ok(server.cli("event", "list", "-o", "json", "--kind", "version.*")))
    assert {e["pipeline"] for e in created["items"]} >= {"evs"}
    assert all(e["kind"] == "version.created" for e in created["items"])

    table = ok(server.cli("event", "list", "-p", "evs", "--run", "1", "--kind", "run.complete"))
    assert "default/evs#1" in table
    assert "complete successful" in table

    bad = server.cli("event", "list", "--kind", "run.exploded")
    assert bad.returncode == 1
    assert "event kind 'run.exploded': not a known kind" in bad.stderr
    assert "Traceback" not in bad.stderr
