"""Objects and run tokens at task start: env references, files copied in, the token's life."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from hostler import testing
from hostler.core import objects, ports, reasons, runs, tasks
from hostler.engine import dispatcher, executor
from hostler.objects import files
from hostler.services import context, pipelines
from hostler.services import objects as object_service
from hostler.services import runs as run_service

from .test_dispatcher import until

API_URL = "http://hostler.test:8080"


@dataclasses.dataclass
class Harness:
    ctx: context.Context
    fake: testing.FakeScheduler

    def deploy(self, *task_list: dict[str, Any]) -> None:
        pipelines.up(self.ctx, "default", {"id": "p", "tasks": list(task_list)})

    def run(self, **variables: str) -> tuple[runs.Run, dict[str, tasks.Execution]]:
        started = run_service.start(self.ctx, "default", "p", variables)
        until(
            lambda: self.ctx.store.get_run("default", "p", started.id).state is runs.State.COMPLETE,
            "the run completes",
        )
        done = self.ctx.store.get_run("default", "p", started.id)
        found = self.ctx.store.list_executions("default", "p", started.id)
        return done, {e.task: e for e in found}

    def spec(self, task: str) -> ports.ContainerSpec:
        [spec] = [s for s in self.fake.created if s.labels[ports.LABEL_PREFIX + "task"] == task]
        return spec


@pytest.fixture
def harness(tmp_path: pathlib.Path) -> Iterator[Harness]:
    store, logs = testing.MemoryStore(), testing.MemoryLogStore()
    content = files.Store(tmp_path / "objects")
    # Every container prints the token it was given, if any, to show that it is masked.
    fake = testing.FakeScheduler(
        lambda spec: testing.Behaviour([f"token={spec.env.get('HOSTLER_TOKEN', '')}"])
    )
    engine = dispatcher.Engine(
        store,
        logs,
        fake,
        limits=dispatcher.Limits(poll_interval=0.05),
        options=executor.Options(
            stop_grace=0.1, remove_containers=False, instance_id="unit", api_url=API_URL
        ),
        clock=context.utcnow,
        objects=content,
    )
    ctx = context.Context(store=store, logs=logs, wake=engine.wake, objects=content)
    engine.start()
    try:
        yield Harness(ctx, fake)
    finally:
        engine.stop()


def put(h: Harness, key: str, data: bytes, run: int | None = None) -> None:
    object_service.put(h.ctx, "default", "p", run, key, [data])


def test_env_references_get_the_content_and_files_are_copied_before_start(
    harness: Harness,
) -> None:
    harness.deploy(
        {
            "id": "t",
            "image": "x",
            "env": {"CSV": "header: pipeline_object{{data.csv}}"},
            "objects": ["pipeline_object{{data.csv}}", "pipeline_object{{model.bin}}"],
        }
    )
    put(harness, "data.csv", b"a,b\n1,2")
    put(harness, "model.bin", bytes(range(256)))
    run, executions = harness.run()
    assert run.status is runs.Status.SUCCESSFUL
    spec = harness.spec("t")
    assert spec.env["CSV"] == "header: a,b\n1,2"
    assert spec.env[ports.OBJECTS_ENV] == objects.FILES_DIR
    assert harness.fake.copied(executions["t"].container or "") == {
        "pipeline/data.csv": b"a,b\n1,2",
        "pipeline/model.bin": bytes(range(256)),
    }


def test_a_missing_object_fails_the_task_before_its_container_naming_each(
    harness: Harness,
) -> None:
    harness.deploy(
        {
            "id": "t",
            "image": "x",
            "env": {"A": "run_object{{out}}"},
            "objects": ["pipeline_object{{absent}}"],
        }
    )
    run, executions = harness.run()
    assert run.status is runs.Status.FAILED
    reason = executions["t"].reason
    assert reason == reasons.Reason(
        reasons.Kind.OBJECT_MISSING,
        "run_object{{out}}: no object 'out' in run #1; "
        "pipeline_object{{absent}}: no object 'absent' in the pipeline",
    )
    assert harness.fake.created == []


def test_an_object_too_large_or_binary_for_env_says_to_use_a_file(harness: Harness) -> None:
    harness.deploy({"id": "t", "image": "x", "env": {"A": "pipeline_object{{blob}}"}})
    put(harness, "blob", b"\xff\xfe")
    _, executions = harness.run()
    reason = executions["t"].reason
    assert reason is not None and reason.kind is reasons.Kind.OBJECT_MISSING
    assert "not UTF-8 text; list it in the task's objects" in reason.description


def test_a_run_token_is_given_last_masked_and_gone_when_the_task_ends(harness: Harness) -> None:
    harness.deploy({"id": "t", "image": "x", "inject_api_token": True}, {"id": "u", "image": "x"})
    run, executions = harness.run(HOSTLER_URL="http://elsewhere.example", HOSTLER_TOKEN="mine")
    assert run.status is runs.Status.SUCCESSFUL
    logged = harness.ctx.logs.read(executions["t"].log_key)
    assert [line.text for line in logged.lines] == ["token=***"]
    env = harness.spec("t").env
    assert env["HOSTLER_URL"] == API_URL  # a run variable cannot send the token elsewhere
    assert env["HOSTLER_TOKEN"].startswith("hst_")
    assert harness.spec("u").env["HOSTLER_TOKEN"] == "mine"  # only tasks that ask get one
    assert harness.ctx.store.list_tokens(None, 10) == []
