"""The executor records a failure instead of leaving a task stuck when its scheduler breaks."""

from __future__ import annotations

import pathlib

import pytest

from hostler.core import pipelines, ports, reasons, runs, tasks
from hostler.engine import executor
from hostler.logs import files
from hostler.services import context
from hostler.services import pipelines as pipeline_service
from hostler.services import runs as run_service
from hostler.storage import database
from hostler.storage import store as sql_store


class BrokenScheduler:
    """A scheduler whose start fails with an unexpected (non-Hostler) exception."""

    name = "broken"
    capabilities = ports.Capabilities(isolation=False)

    def create(self, spec: ports.ContainerSpec) -> str:
        return "h1"

    def inspect(self, handle: str) -> ports.ContainerStatus:
        return ports.ContainerStatus(handle, ports.ContainerState.CREATED)

    def start(self, handle: str) -> None:
        raise RuntimeError("bug in a backend")

    def remove(self, handle: str) -> None:
        pass


@pytest.fixture
def ctx(tmp_path: pathlib.Path) -> context.Context:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    database.migrate(url)
    return context.Context(
        store=sql_store.Store(database.connect(url)), logs=files.Store(tmp_path / "logs")
    )


def test_an_unexpected_error_fails_the_task_with_reason_instead_of_leaving_it_starting(
    ctx: context.Context,
) -> None:
    try:
        pipeline_service.up(ctx, "default", {"id": "p", "tasks": [{"id": "t", "image": "x"}]})
        run = run_service.start(ctx, "default", "p")
        execution = ctx.store.get_execution("default", "p", run.id, "t")
        for event in (tasks.Event.QUEUE, tasks.Event.CLAIM):
            state, status = tasks.MACHINE.apply(execution.state, event)
            execution = ctx.store.update_execution(
                execution.evolve(state=state, status=status), execution.revision
            )
        run = ctx.store.get_run("default", "p", run.id)
        ex = executor.Executor(
            ctx.store,
            ctx.logs,
            BrokenScheduler(),  # type: ignore[arg-type]
            executor.Options(stop_grace=1, remove_containers=True, instance_id="test"),
            context.utcnow,
        )
        task = pipelines.TaskConfig(id="t", image="x")
        done = ex.run(execution, run, task, executor.Stop())
        assert (done.state, done.status) == (tasks.State.COMPLETE, tasks.Status.FAILED)
        assert done.reason is not None
        assert done.reason.kind is reasons.Kind.ENGINE_ERROR
        assert "bug in a backend" in done.reason.description
        assert runs.State.PENDING is run.state
    finally:
        ctx.store.close()
