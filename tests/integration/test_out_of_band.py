"""Containers changed behind Hostler's back on the real Docker engine are noticed and named."""

from __future__ import annotations

import time

import docker
import pytest

from hostler.core import reasons, runs, tasks

from .conftest import Harness
from .test_engine_docker import task

pytestmark = pytest.mark.docker


def running_container(h: Harness, run: runs.Run, task_id: str) -> str:
    """Return the handle of the task's container once the task is running."""
    deadline = time.monotonic() + 30
    while (execution := h.executions(run)[task_id]).state is not tasks.State.RUNNING:
        assert time.monotonic() < deadline, f"{task_id} never ran"
        time.sleep(0.05)
    assert execution.container is not None
    return execution.container


@pytest.mark.parametrize(
    ("act", "status", "kind", "words"),
    [
        ("kill", tasks.Status.FAILED, reasons.Kind.EXIT_CODE, "SIGKILL, not sent by Hostler"),
        ("remove", tasks.Status.LOST, reasons.Kind.LOST, "removed while it ran, not by Hostler"),
    ],
)
def test_a_container_killed_or_removed_out_of_band_ends_the_task_with_a_reason(
    docker_harness: Harness, act: str, status: tasks.Status, kind: reasons.Kind, words: str
) -> None:
    h = docker_harness
    config = {
        "id": f"outside-{act}",
        "tasks": [
            task("victim", "echo alive; sleep 120"),
            task("after", "echo after", depends_on={"victim": "success"}),
        ],
    }
    run = h.start(h.deploy(config))
    handle = running_container(h, run, "victim")
    client = docker.from_env()
    acted = time.monotonic()
    if act == "kill":
        client.api.kill(handle)
    else:
        client.api.remove_container(handle, force=True)
    client.close()

    run = h.wait(run, timeout=30)
    noticed = time.monotonic() - acted

    victim = h.executions(run)["victim"]
    assert victim.status is status
    assert victim.reason is not None and victim.reason.kind is kind
    assert words in victim.reason.description
    assert h.executions(run)["after"].status is tasks.Status.SKIPPED
    assert run.status is runs.Status.FAILED
    assert h.log(victim) == ["alive"]
    print(f"noticed {act} after {noticed:.2f}s")
