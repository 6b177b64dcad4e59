"""Runs survive the server: SIGKILL the real server while tasks run, start it again, check the work.

The server keeps its containers (``remove_containers = false``) so that each test can count the
containers made for every task by their labels, compare the recorded exit codes with the ones the
Docker engine reports, and compare each stored log with the container's own output, line by line.
"""

from __future__ import annotations

import pathlib
import random
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from hostler.sdk import client as sdk
from hostler.testing.process import ServerProcess

pytestmark = pytest.mark.docker

P = "io.hostler."
SETTINGS = {
    "ENGINE__REMOVE_CONTAINERS": "false",
    "ENGINE__STOP_GRACE": "2",
    "ENGINE__POLL_INTERVAL": "0.2",
    "LOGGING__LEVEL": "debug",
}


def task(id_: str, lines: int, pause: float, code: int = 0, **extra: Any) -> dict[str, Any]:
    """A task printing ``lines`` numbered lines ``pause`` seconds apart, then exiting ``code``."""
    script = f'for i in $(seq 1 {lines}); do echo "{id_} line $i"; sleep {pause}; done; exit {code}'
    return {"id": id_, "image": "busybox:stable", "command": ["sh", "-c", script], **extra}


class Crashable:
    """A real server that the test kills and restarts, and what it checks afterwards."""

    def __init__(self, data_dir: pathlib.Path, engine: docker.DockerClient) -> None:
        self.process = ServerProcess(data_dir, SETTINGS)
        self.docker = engine
        self.process.start()
        self.client = sdk.Client(self.process.url)

    def restart(self) -> None:
        """Kill the server with SIGKILL and start it again on the same data."""
        self.process.kill()
        self.process.start()

    def run(self, config: dict[str, Any]) -> int:
        """Make ``config`` live and start a run of it; return the run's id."""
        self.client.up_pipeline("default", config)
        run: int = self.client.start_run("default", config["id"])["id"]
        return run

    def state(self, pipeline: str, run: int) -> dict[str, Any]:
        """Return the run as the server has it now."""
        got: dict[str, Any] = self.client.get_run("default", pipeline, run)
        return got

    def wait(self, pipeline: str, run: int, timeout: float = 180) -> dict[str, Any]:
        """Return the run once it is complete."""
        deadline = time.monotonic() + timeout
        while (current := self.state(pipeline, run))["state"] != "complete":
            assert time.monotonic() < deadline, f"run {run} did not complete: {current}"
            time.sleep(0.2)
        return current

    def until_running(self, pipeline: str, run: int, task_id: str, lines: int) -> None:
        """Return once ``task_id`` runs and at least ``lines`` of its output are stored."""
        deadline = time.monotonic() + 60
        while True:
            found = self.client.get_task("default", pipeline, run, task_id)
            if found["state"] == "running":
                stored = self.client.read_logs("default", pipeline, run, task_id)["lines"]
                if len(stored) >= lines:
                    return
            assert time.monotonic() < deadline, f"task {task_id} never ran: {found}"
            time.sleep(0.1)

    def containers(self, pipeline: str, run: int, task_id: str) -> list[Any]:
        """Return the containers the Docker engine holds for ``task_id`` of the run."""
        instance = (self.process.data_dir / "instance-id").read_text().strip()
        labels = {"pipeline": pipeline, "run": str(run), "task": task_id, "instance": instance}
        return self.docker.containers.list(
            all=True, filters={"label": [f"{P}{k}={v}" for k, v in labels.items()]}
        )

    def stored_log(self, pipeline: str, run: int, task_id: str) -> list[str]:
        """Return the stored log of ``task_id``, checking that it ended."""
        lines: list[str] = []
        offset = 0
        while True:
            chunk = self.client.read_logs("default", pipeline, run, task_id, offset=offset)
            lines += [line["text"] for line in chunk["lines"]]
            offset = chunk["next_offset"]
            if chunk["ended"]:
                return lines
            assert chunk["lines"], f"the log of {task_id} did not end"

    def check_exactly_once(self, pipeline: str, run: int, task_ids: list[str]) -> None:
        """Every task ran in one container; exit codes and logs are the container's own."""
        for task_id in task_ids:
            [container] = self.containers(pipeline, run, task_id)
            recorded = self.client.get_task("default", pipeline, run, task_id)
            assert recorded["attempt"] == 1
            assert recorded["exit_code"] == container.attrs["State"]["ExitCode"], task_id
            output = container.logs(stdout=True, stderr=True).decode().splitlines()
            assert self.stored_log(pipeline, run, task_id) == output, task_id

    def close(self) -> None:
        """Stop the server and remove the containers of its installation."""
        self.client.close()
        self.process.stop()
        label = f"{P}instance={(self.process.data_dir / 'instance-id').read_text().strip()}"
        for container in self.docker.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)


@pytest.fixture
def crashable(tmp_path: pathlib.Path) -> Iterator[Crashable]:
    """A server to kill, with its own data directory."""
    engine = docker.from_env()
    server = Crashable(tmp_path / "data", engine)
    try:
        yield server
    finally:
        server.close()
        engine.close()


def test_sigkill_while_tasks_run_loses_nothing_and_repeats_nothing(crashable: Crashable) -> None:
    config: dict[str, Any] = {
        "id": "survivor",
        "tasks": [
            task("quick", 2, 0),
            task("long-a", 40, 0.1),
            task("long-b", 30, 0.1, code=3),
            task("after-quick", 3, 0, depends_on={"quick": "success"}),
            task("last", 2, 0, depends_on={"long-a": "any", "long-b": "any"}),
        ],
    }
    run = crashable.run(config)
    crashable.until_running("survivor", run, "long-a", lines=5)
    crashable.until_running("survivor", run, "long-b", lines=5)

    crashable.restart()
    done = crashable.wait("survivor", run)

    assert done["status"] == "failed"
    assert "long-b" in done["reason"]["description"]
    crashable.check_exactly_once("survivor", run, [t["id"] for t in config["tasks"]])
    statuses = {
        t["id"]: crashable.client.get_task("default", "survivor", run, t["id"])["status"]
        for t in config["tasks"]
    }
    assert statuses == {
        "quick": "successful",
        "long-a": "successful",
        "long-b": "failed",
        "after-quick": "successful",
        "last": "successful",
    }


def thirty_task_dag(rng: random.Random) -> dict[str, Any]:
    """Five layers of six tasks; each depends on one or two tasks of the layer above ('any')."""
    tasks_: list[dict[str, Any]] = []
    for layer in range(5):
        for n in range(6):
            id_ = f"t{layer}{n}"
            above = [f"t{layer - 1}{k}" for k in range(6)] if layer else []
            depends = dict.fromkeys(rng.sample(above, rng.randint(1, 2)), "any") if above else {}
            code = 5 if id_ == "t21" else 0
            lines = rng.randint(3, 30)
            tasks_.append(task(id_, lines, 0.1, code=code, depends_on=depends))
    return {"id": "torture", "tasks": tasks_}


def test_torture_repeated_sigkill_across_a_thirty_task_dag(crashable: Crashable) -> None:
    seed = random.randrange(1_000_000)
    print(f"torture seed: {seed}")  # to replay a failure
    rng = random.Random(seed)
    config = thirty_task_dag(rng)
    run = crashable.run(config)

    for _ in range(15):
        time.sleep(rng.uniform(0.1, 2.0))
        crashable.restart()
    done = crashable.wait("torture", run)

    assert done["status"] == "failed"
    assert "'t21'" in done["reason"]["description"]
    crashable.check_exactly_once("torture", run, [t["id"] for t in config["tasks"]])
