"""The one place that reads the settings and wires concrete adapters by name.

``build`` turns settings into a running-ready server (store, log store, scheduler, engine, API);
``serve`` runs it until interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

import fastapi

from hostler import config, plugins
from hostler.api import app as api_app
from hostler.core import ports
from hostler.engine import dispatcher, executor
from hostler.logs import files
from hostler.services import context
from hostler.storage import database
from hostler.storage import store as sql_store

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Server:
    """Everything a running Hostler server is made of."""

    settings: config.Settings
    store: ports.Store
    logs: ports.LogStore
    scheduler: ports.Scheduler
    engine: dispatcher.Engine
    context: context.Context
    app: fastapi.FastAPI

    def close(self) -> None:
        """Stop the engine and release the adapters."""
        self.engine.stop()
        self.scheduler.close()
        self.store.close()


def scheduler(settings: config.Settings) -> ports.Scheduler:
    """Build the scheduler backend the settings name."""
    name = settings.scheduler.backend
    plugin = plugins.load("schedulers", name)
    section = plugin.config.model_validate(settings.scheduler.section(name))
    built: ports.Scheduler = plugin.factory(section)
    return built


def instance_id() -> str:
    """Return a name for this server process, unique among the processes sharing a database."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def build(settings: config.Settings) -> Server:
    """Wire a server from ``settings``: migrate the database and connect every adapter."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database.migrate(settings.database_url)
    store = sql_store.Store(database.connect(settings.database_url))
    logs = files.Store(settings.logs_dir)
    sched = scheduler(settings)
    engine = dispatcher.Engine(
        store,
        logs,
        sched,
        limits=dispatcher.Limits(
            max_running_tasks=settings.engine.max_running_tasks,
            poll_interval=settings.engine.poll_interval,
        ),
        options=executor.Options(
            stop_grace=settings.engine.stop_grace,
            remove_containers=settings.engine.remove_containers,
            instance_id=instance_id(),
        ),
        clock=context.utcnow,
    )
    ctx = context.Context(store=store, logs=logs, wake=engine.wake)

    @contextlib.asynccontextmanager
    async def lifespan(_: fastapi.FastAPI) -> AsyncIterator[None]:
        engine.start()
        engine.wake()
        log.info("engine started", extra={"scheduler": sched.name})
        try:
            yield
        finally:
            engine.stop()

    app = api_app.create(ctx, settings, lifespan=lifespan)
    return Server(settings, store, logs, sched, engine, ctx, app)


def serve(settings: config.Settings) -> None:
    """Run the API server and the engine in this process until interrupted."""
    import uvicorn

    from hostler import logging as hostler_logging

    hostler_logging.configure(settings.logging.level, settings.logging.format)
    if settings.dev:
        log.warning("development mode: for local use only")
    server = build(settings)
    log.info(
        "server listening",
        extra={
            "url": f"http://{settings.server.host}:{settings.server.port}",
            "data_dir": str(settings.data_dir),
            "database": settings.database_url,
        },
    )
    try:
        uvicorn.run(
            server.app,
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            access_log=False,
        )
    finally:
        server.scheduler.close()
        server.store.close()
