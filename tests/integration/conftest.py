"""A real engine over a real SQLite store, the file log store and a real scheduler backend."""

from __future__ import annotations

import dataclasses
import pathlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hostler import plugins
from hostler.core import ports, runs, tasks
from hostler.engine import dispatcher, executor
from hostler.logs import files
from hostler.services import context, namespaces, pipelines
from hostler.services import runs as run_service
from hostler.storage import database
from hostler.storage import store as sql_store


@dataclasses.dataclass
class Harness:
    """A running engine and the context to drive it, as the server wires them."""

    ctx: context.Context
    engine: dispatcher.Engine
    scheduler: ports.Scheduler
    instance: str
    namespace: str

    def deploy(self, config: dict[str, Any]) -> str:
        """Register ``config`` and make it live; return the pipeline id."""
        pipelines.up(self.ctx, self.namespace, config)
        return str(config["id"])

    def start(self, pipeline: str, **variables: str) -> runs.Run:
        """Start a run of ``pipeline``."""
        return run_service.start(self.ctx, self.namespace, pipeline, variables)

    def wait(self, run: runs.Run, timeout: float = 60) -> runs.Run:
        """Wait until ``run`` is complete and return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.ctx.store.get_run(run.namespace, run.pipeline, run.id)
            if current.state is runs.State.COMPLETE:
                return current
            time.sleep(0.05)
        raise AssertionError(f"run {run.ref} did not complete in {timeout}s: {current}")

    def executions(self, run: runs.Run) -> dict[str, tasks.Execution]:
        """Return the run's task executions by task id (latest attempt)."""
        return {
            e.task: e for e in self.ctx.store.list_executions(run.namespace, run.pipeline, run.id)
        }

    def log(self, execution: tasks.Execution) -> list[str]:
        """Return the stored log lines of ``execution``."""
        return [line.text for line in self.ctx.logs.read(execution.log_key).lines]


def make_harness(
    tmp_path: pathlib.Path, backend: str, *, remove_containers: bool = True, stop_grace: float = 2
) -> Iterator[Harness]:
    url = f"sqlite:///{tmp_path / 'hostler.db'}"
    database.migrate(url)
    engine_ = database.connect(url)
    store = sql_store.Store(engine_)
    logs = files.Store(tmp_path / "logs")
    plugin = plugins.load("schedulers", backend)
    settings: dict[str, Any] = {"work_dir": str(tmp_path / "local")} if backend == "local" else {}
    scheduler = plugin.factory(plugin.config.model_validate(settings))
    instance = f"test-{uuid.uuid4().hex[:8]}"
    engine = dispatcher.Engine(
        store,
        logs,
        scheduler,
        limits=dispatcher.Limits(max_running_tasks=8, poll_interval=0.2),
        options=executor.Options(
            stop_grace=stop_grace, remove_containers=remove_containers, instance_id=instance
        ),
        clock=context.utcnow,
    )
    ctx = context.Context(store=store, logs=logs, wake=engine.wake)
    namespace = "it-" + uuid.uuid4().hex[:6]
    namespaces.create(ctx, namespace)
    engine.start()
    try:
        yield Harness(ctx, engine, scheduler, instance, namespace)
    finally:
        engine.stop()
        for c in scheduler.list({ports.LABEL_PREFIX + "instance": instance}):
            scheduler.remove(c.handle)
        scheduler.close()
        store.close()


@pytest.fixture
def docker_harness(tmp_path: pathlib.Path) -> Iterator[Harness]:
    """An engine on the real Docker engine."""
    yield from make_harness(tmp_path, "docker")


@pytest.fixture
def docker_harness_keep(tmp_path: pathlib.Path) -> Iterator[Harness]:
    """An engine on the real Docker engine that keeps containers for inspection."""
    yield from make_harness(tmp_path, "docker", remove_containers=False)
