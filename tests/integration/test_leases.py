"""Two real server processes sharing one database: each task runs once, and a dead one's work is
adopted by the other once its leases expire."""

from __future__ import annotations

import pathlib
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from hostler.sdk import client as sdk
from hostler.testing.process import ServerProcess

pytestmark = pytest.mark.docker

P = "io.hostler."


class Pair:
    """Two servers, ``a`` and ``b``, on one SQLite database, each with its own data directory."""

    def __init__(self, root: pathlib.Path) -> None:
        settings = {
            "STORAGE__URL": f"sqlite:///{root / 'shared.db'}",
            "ENGINE__LEASE": "3",
            "ENGINE__POLL_INTERVAL": "0.2",
            "ENGINE__REMOVE_CONTAINERS": "false",
            "ENGINE__MAX_RUNNING_TASKS": "8",
            "LOGGING__LEVEL": "debug",
        }
        self.a = ServerProcess(root / "a", settings)
        self.b = ServerProcess(root / "b", settings)
        self.a.start()
        self.b.start()
        with sqlite3.connect(root / "shared.db") as db:
            self.installation = db.execute("SELECT id FROM installation").fetchone()[0]
        self.client = sdk.Client(self.a.url)
        self.other = sdk.Client(self.b.url)
        self.docker = docker.from_env()

    def run(self, config: dict[str, Any]) -> int:
        """Make ``config`` live and start a run of it through server a; return its id."""
        self.client.up_pipeline("default", config)
        run: int = self.client.start_run("default", config["id"])["id"]
        return run

    def wait(
        self, api: sdk.Client, pipeline: str, run: int, timeout: float = 120
    ) -> dict[str, Any]:
        """Return the run once it is complete, asking ``api``."""
        deadline = time.monotonic() + timeout
        while (current := api.get_run("default", pipeline, run))["state"] != "complete":
            assert time.monotonic() < deadline, f"run {run} did not complete: {current}"
            time.sleep(0.2)
        result: dict[str, Any] = current
        return result

    def containers(self, pipeline: str, run: int, task_id: str) -> list[Any]:
        """Return the containers made for ``task_id`` of the run."""
        labels = {
            "installation": self.installation,
            "pipeline": pipeline,
            "run": str(run),
            "task": task_id,
        }
        return self.docker.containers.list(
            all=True, filters={"label": [f"{P}{k}={v}" for k, v in labels.items()]}
        )

    def close(self) -> None:
        """Stop both servers and remove the containers of their installation."""
        self.client.close()
        self.other.close()
        self.a.stop()
        self.b.stop()
        for container in self.docker.containers.list(
            all=True, filters={"label": f"{P}installation={self.installation}"}
        ):
            container.remove(force=True)
        self.docker.close()


@pytest.fixture
def pair(tmp_path: pathlib.Path) -> Iterator[Pair]:
    """Two servers on one database."""
    made = Pair(tmp_path)
    try:
        yield made
    finally:
        made.close()


def pipeline(tasks: int, sleep: float) -> dict[str, Any]:
    """``tasks`` independent tasks that print their name, sleep, and print it again."""
    script = f"echo $HOSTLER_TASK; sleep {sleep:g}; echo $HOSTLER_TASK done"
    return {
        "id": "shared",
        "tasks": [
            {"id": f"t{n:02d}", "image": "busybox:stable", "command": ["sh", "-c", script]}
            for n in range(tasks)
        ],
    }


def test_two_servers_on_one_database_never_run_a_task_twice(pair: Pair) -> None:
    config = pipeline(24, 0.5)
    run = pair.run(config)

    done = pair.wait(pair.client, "shared", run)

    assert done["status"] == "successful"
    instances = set()
    for task in config["tasks"]:
        [container] = pair.containers("shared", run, task["id"])
        instances.add(container.labels[f"{P}instance"])
    print(f"tasks run by {len(instances)} server instance(s)")


def test_the_work_of_a_dead_server_is_adopted_by_the_other(pair: Pair) -> None:
    config = pipeline(6, 6)
    run = pair.run(config)
    deadline = time.monotonic() + 60
    while True:
        tasks = pair.client.list_tasks("default", "shared", run)["items"]
        if all(t["state"] == "running" for t in tasks):
            break
        assert time.monotonic() < deadline, f"tasks never all ran: {tasks}"
        time.sleep(0.1)

    pair.a.kill()
    done = pair.wait(pair.other, "shared", run)

    assert done["status"] == "successful"
    for task in config["tasks"]:
        [container] = pair.containers("shared", run, task["id"])
        stored = pair.other.read_logs("default", "shared", run, task["id"])
        assert stored["ended"]
        assert [line["text"] for line in stored["lines"]] == [task["id"], f"{task['id']} done"]
        recorded = pair.other.get_task("default", "shared", run, task["id"])
        assert recorded["exit_code"] == container.attrs["State"]["ExitCode"] == 0
