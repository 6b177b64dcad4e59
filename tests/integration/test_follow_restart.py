"""Followers survive the server: SIGKILL it while ``--follow`` streams, start it again, compare.

``hostler task logs --follow`` and ``hostler event follow`` run as real child processes against a
real server. The server is killed with SIGKILL mid-stream and started again on the same data
directory and port; each follower must reconnect by itself and resume where it stopped (log lines
by offset, events by ``Last-Event-ID``), so that what it printed has no gap and no repeat. The
server keeps its containers (``remove_containers = false``) so that the followed log can be
compared with the container's own output.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

import docker
import pytest

from hostler.sdk import client as sdk
from hostler.testing.process import HOSTLER, ServerProcess, clean_environment

pytestmark = pytest.mark.docker

P = "io.hostler."
SETTINGS = {
    "ENGINE__REMOVE_CONTAINERS": "false",
    "ENGINE__POLL_INTERVAL": "0.2",
    "LOGGING__LEVEL": "debug",
}
PIPELINE = "counter"
TASK = "count"
LINES = 60
CONFIG: dict[str, Any] = {
    "id": PIPELINE,
    "tasks": [
        {
            "id": TASK,
            "image": "busybox:stable",
            "command": [
                "sh",
                "-c",
                f'for i in $(seq 0 {LINES - 1}); do echo "line $i"; sleep 0.1; done',
            ],
        }
    ],
}


class Follower:
    """A ``hostler`` command running in a child process, its output collected line by line."""

    def __init__(self, args: list[str], url: str, stderr: pathlib.Path) -> None:
        self.stderr = stderr
        self._err: IO[bytes] = stderr.open("wb")
        self.process = subprocess.Popen(
            [HOSTLER, *args],
            env={**clean_environment(), "HOSTLER_URL": url},
            stdout=subprocess.PIPE,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line.removesuffix("\n"))

    @property
    def lines(self) -> list[str]:
        """The lines printed so far."""
        with self._lock:
            return list(self._lines)

    def until(self, what: str, check: Callable[[list[str]], bool], timeout: float = 60) -> None:
        """Return once ``check`` holds for the lines printed so far; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not check(self.lines):
            assert self.process.poll() is None or check(self.lines), (
                f"follower exited ({self.process.returncode}) before {what}: {self.report()}"
            )
            assert time.monotonic() < deadline, f"follower never saw {what}: {self.report()}"
            time.sleep(0.05)

    def wait(self, timeout: float) -> int:
        """Return the exit status once the command ended by itself and its output is read."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"follower did not end: {self.report()}") from None
        self._reader.join(10)
        return code

    def interrupt(self, timeout: float = 10) -> int:
        """Stop the command as Ctrl-C would; return its exit status once its output is read."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def report(self) -> str:
        """What the command printed, for failure messages."""
        lines = self.lines
        return f"{len(lines)} lines, last {lines[-3:]}; stderr: {self.stderr.read_text()!r}"

    def close(self) -> None:
        """Kill the command if it still runs and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._err.close()


class Server:
    """A real server that the test kills and restarts, and the followers it started."""

    def __init__(self, tmp_path: pathlib.Path, engine: docker.DockerClient) -> None:
        self.tmp_path = tmp_path
        self.process = ServerProcess(tmp_path / "data", SETTINGS)
        self.docker = engine
        self.process.start()
        self.client = sdk.Client(self.process.url)
        self.followers: list[Follower] = []

    def follow(self, *args: str) -> Follower:
        """Start ``hostler ARGS`` against this server."""
        stderr = self.tmp_path / f"follower-{len(self.followers)}.err"
        follower = Follower(list(args), self.process.url, stderr)
        self.followers.append(follower)
        return follower

    def crash(self, down: float = 1.0) -> None:
        """Kill the server with SIGKILL, leave it down ``down`` seconds, start it again."""
        self.process.kill()
        time.sleep(down)
        self.process.start()

    def run(self) -> int:
        """Make the counting pipeline live and start a run of it; return the run's id."""
        self.client.up_pipeline("default", CONFIG)
        run: int = self.client.start_run("default", PIPELINE)["id"]
        return run

    def wait(self, run: int, timeout: float = 120) -> dict[str, Any]:
        """Return the run once it is complete."""
        deadline = time.monotonic() + timeout
        while (current := self.client.get_run("default", PIPELINE, run))["state"] != "complete":
            assert time.monotonic() < deadline, f"run {run} did not complete: {current}"
            time.sleep(0.2)
        return current

    def instance(self) -> str:
        """Return the id of this server's installation, which labels its containers."""
        return (self.process.data_dir / "instance-id").read_text().strip()

    def container_output(self, run: int) -> list[str]:
        """Return what the one container of the task wrote, line by line.

        Other servers may share the Docker engine, so the instance label is part of the filter.
        """
        labels = {"instance": self.instance(), "pipeline": PIPELINE, "run": str(run), "task": TASK}
        [container] = self.docker.containers.list(
            all=True, filters={"label": [f"{P}{k}={v}" for k, v in labels.items()]}
        )
        output: bytes = container.logs(stdout=True, stderr=True)
        return output.decode().splitlines()

    def cli(self, *args: str) -> str:
        """Run ``hostler ARGS`` to its end and return what it printed."""
        done = subprocess.run(
            [HOSTLER, *args],
            env={**clean_environment(), "HOSTLER_URL": self.process.url},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def close(self) -> None:
        """Stop the followers and the server, and remove the containers of its installation."""
        for follower in self.followers:
            follower.close()
        self.client.close()
        self.process.stop()
        label = f"{P}instance={self.instance()}"
        for container in self.docker.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[Server]:
    """A server to kill, with its own data directory."""
    engine = docker.from_env()
    started = Server(tmp_path, engine)
    try:
        yield started
    finally:
        started.close()
        engine.close()


def test_log_follower_resumes_across_a_server_crash(server: Server) -> None:
    run = server.run()
    follower = server.follow("task", "logs", PIPELINE, str(run), TASK, "--follow")
    follower.until("10 lines", lambda lines: len(lines) >= 10)
    printed_before = len(follower.lines)
    assert printed_before < LINES, "the task ended before the crash; nothing was tested"

    server.crash()
    code = follower.wait(timeout=90)

    assert code == 0, follower.report()
    assert server.wait(run)["status"] == "successful"
    expected = [f"line {i}" for i in range(LINES)]
    assert follower.lines == expected, follower.report()
    assert follower.lines == server.container_output(run)


def test_event_follower_resumes_across_a_server_crash(server: Server) -> None:
    run = server.run()
    follower = server.follow("event", "follow", "--run", str(run), "-o", "json")

    def kinds(lines: list[str]) -> list[str]:
        return [json.loads(line)["kind"] for line in lines]

    follower.until("task.running", lambda lines: "task.running" in kinds(lines))
    assert "run.complete" not in kinds(follower.lines)

    server.crash()
    follower.until("run.complete", lambda lines: "run.complete" in kinds(lines), timeout=90)
    assert server.wait(run)["status"] == "successful"
    code = follower.interrupt()

    assert code == 130, follower.report()
    seen = [json.loads(line) for line in follower.lines]
    ids = [event["id"] for event in seen]
    assert all(a < b for a, b in itertools.pairwise(ids)), ids
    assert all(event["run"] == run and event["pipeline"] == PIPELINE for event in seen)
    assert seen[0]["kind"] == "run.created"
    assert seen[-1]["kind"] == "run.complete"
    listed = json.loads(server.cli("event", "list", "--run", str(run), "--all", "-o", "json"))
    assert listed["next_cursor"] is None
    assert ids == [event["id"] for event in listed["items"]]
    assert seen == listed["items"]
