"""The engine end to end on the real Docker engine."""

from __future__ import annotations

import datetime
import itertools
import time
from typing import Any

import docker
import pytest

from hostler.core import ports, reasons, runs, tasks
from hostler.services import runs as run_service

from .conftest import Harness

pytestmark = pytest.mark.docker

IMAGE = "busybox:stable"


def task(id_: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "image": IMAGE, "command": ["sh", "-c", script], **extra}


HELLO = {
    "id": "hello",
    "parallelism": 2,
    "tasks": [
        task("fetch", "echo fetched"),
        task(
            "test-a", "echo a $LEVEL; sleep 1", depends_on={"fetch": "success"}, env={"LEVEL": "3"}
        ),
        task("test-b", "echo b; sleep 0.5", depends_on={"fetch": "success"}),
        task("report", "echo done", depends_on={"test-a": "any", "test-b": "any"}),
    ],
}


def test_hello_dag_succeeds_in_dependency_order(docker_harness: Harness) -> None:
    h = docker_harness
    run = h.wait(h.start(h.deploy(HELLO)))
    assert (run.state, run.status) == (runs.State.COMPLETE, runs.Status.SUCCESSFUL)
    ex = h.executions(run)
    assert {e.status for e in ex.values()} == {tasks.Status.SUCCESSFUL}
    started = {k: e.started for k, e in ex.items() if e.started is not None}
    ended = {k: e.ended for k, e in ex.items() if e.ended is not None}
    assert len(started) == len(ended) == 4
    assert ended["fetch"] <= started["test-a"]
    assert ended["fetch"] <= started["test-b"]
    assert started["report"] >= max(ended["test-a"], ended["test-b"])
    assert h.log(ex["test-a"]) == ["a 3"]
    assert h.log(ex["report"]) == ["done"]
    assert all(e.image_digest and e.image_digest.startswith("sha256:") for e in ex.values())
    assert all(e.exit_code == 0 for e in ex.values())


def test_run_variables_override_task_env(docker_harness: Harness) -> None:
    h = docker_harness
    run = h.wait(h.start(h.deploy(HELLO), LEVEL="9"))
    assert h.log(h.executions(run)["test-a"]) == ["a 9"]


def test_failing_task_skips_success_dependents_and_runs_any_dependents(
    docker_harness: Harness,
) -> None:
    h = docker_harness
    config = {
        "id": "failing",
        "tasks": [
            task("build", "echo broken >&2; exit 3"),
            task("deploy", "echo deploy", depends_on={"build": "success"}),
            task("cleanup", "echo cleanup", depends_on={"build": "any"}),
            task("alert", "echo alert", depends_on={"build": "failure"}),
        ],
    }
    run = h.wait(h.start(h.deploy(config)))
    assert run.status is runs.Status.FAILED
    assert run.reason is not None and run.reason.kind is reasons.Kind.TASK_FAILED
    assert "build" in run.reason.description
    ex = h.executions(run)
    assert ex["build"].status is tasks.Status.FAILED
    assert ex["build"].exit_code == 3
    assert ex["build"].reason == reasons.Reason(reasons.Kind.EXIT_CODE, "exited with code 3")
    assert h.log(ex["build"]) == ["broken"]
    assert ex["deploy"].status is tasks.Status.SKIPPED
    assert ex["deploy"].reason is not None
    assert ex["deploy"].reason.kind is reasons.Kind.DEPENDENCY_NOT_MET
    assert ex["cleanup"].status is tasks.Status.SUCCESSFUL
    assert ex["alert"].status is tasks.Status.SUCCESSFUL


def test_task_over_its_timeout_is_killed_and_fails_with_reason_timeout(
    docker_harness: Harness,
) -> None:
    h = docker_harness
    config = {"id": "slow", "tasks": [task("sleepy", "echo start; sleep 60", timeout="1s")]}
    began = time.monotonic()
    run = h.wait(h.start(h.deploy(config)), timeout=30)
    assert time.monotonic() - began < 20
    ex = h.executions(run)["sleepy"]
    assert ex.status is tasks.Status.FAILED
    assert ex.reason is not None and ex.reason.kind is reasons.Kind.TIMEOUT
    assert "1s" in ex.reason.description
    assert run.status is runs.Status.FAILED
    assert h.log(ex) == ["start"]


def test_cancel_stops_a_running_container_within_the_grace_period(
    docker_harness: Harness,
) -> None:
    h = docker_harness
    config = {
        "id": "stubborn",
        "tasks": [
            task("hold", "trap '' TERM; echo holding; sleep 60"),
            task("after", "echo never", depends_on={"hold": "any"}),
        ],
    }
    run = h.start(h.deploy(config))
    deadline = time.monotonic() + 30
    while h.executions(run)["hold"].state is not tasks.State.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    asked = time.monotonic()
    run_service.cancel(h.ctx, run.namespace, run.pipeline, run.id)
    run = h.wait(run, timeout=30)
    grace = 2  # the harness's stop_grace
    assert time.monotonic() - asked < grace + 5
    assert run.status is runs.Status.CANCELLED
    ex = h.executions(run)
    assert ex["hold"].status is tasks.Status.CANCELLED
    assert ex["after"].status is tasks.Status.CANCELLED
    running = h.scheduler.list(
        {ports.LABEL_PREFIX + "run": str(run.id), ports.LABEL_PREFIX + "pipeline": "stubborn"}
    )
    assert all(c.state is not ports.ContainerState.RUNNING for c in running)


def _parse(ts: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(ts[:26].rstrip("Z") + "+00:00")


def test_parallelism_one_never_has_two_runs_alive_together(docker_harness_keep: Harness) -> None:
    h = docker_harness_keep
    config = {
        "id": "serial",
        "parallelism": 1,
        "tasks": [
            task("one", "sleep 0.5"),
            task("two", "sleep 0.3", depends_on={"one": "success"}),
        ],
    }
    pipeline = h.deploy(config)
    started = [h.start(pipeline) for _ in range(3)]
    time.sleep(0.5)
    waiting = h.ctx.store.get_run(h.namespace, pipeline, started[-1].id)
    assert waiting.state is runs.State.PENDING
    assert waiting.reason is not None and waiting.reason.kind is reasons.Kind.PARALLELISM_LIMIT
    finished = [h.wait(r, timeout=60) for r in started]
    assert all(r.status is runs.Status.SUCCESSFUL for r in finished)
    client = docker.from_env()
    try:
        spans: dict[str, tuple[datetime.datetime, datetime.datetime]] = {}
        for c in client.containers.list(
            all=True, filters={"label": f"{ports.LABEL_PREFIX}instance={h.instance}"}
        ):
            state = c.attrs["State"]
            run_id = c.labels[f"{ports.LABEL_PREFIX}run"]
            begin, end = _parse(state["StartedAt"]), _parse(state["FinishedAt"])
            lo, hi = spans.get(run_id, (begin, end))
            spans[run_id] = (min(lo, begin), max(hi, end))
    finally:
        client.close()
    assert len(spans) == 3
    ordered = sorted(spans.values())
    for (_, end), (begin, _) in itertools.pairwise(ordered):
        assert end <= begin, "two runs of a parallelism-1 pipeline had containers alive together"
