"""The one place that reads the settings and wires concrete adapters by name.

``build`` turns settings into a running-ready server (store, log store, scheduler, engine, API);
``serve`` runs it until interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import logging
import os
import pathlib
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from typing import IO

import fastapi

from hostler import config, plugins
from hostler.api import app as api_app
from hostler.core import errors, ports
from hostler.crypto import aesgcm
from hostler.engine import dispatcher, executor
from hostler.logs import files
from hostler.objects import files as object_files
from hostler.services import (
    audit,
    context,
    deployments,
    housekeeping,
    installs,
    subscriptions,
    tokens,
)
from hostler.storage import database
from hostler.storage import store as sql_store
from hostler.supervisor import supervisor

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
    identity: Identity
    admin_token: pathlib.Path | None = None
    """The file holding the admin token made at this start, the first; None on later starts."""

    def close(self) -> None:
        """Stop the engine and release the adapters."""
        self.engine.stop()
        self.scheduler.close()
        self.store.close()
        if self.identity.lock is not None:
            self.identity.lock.close()


def scheduler(settings: config.Settings) -> ports.Scheduler:
    """Build the scheduler backend the settings name."""
    name = settings.scheduler.backend
    plugin = plugins.load("schedulers", name)
    section = plugin.config.model_validate(settings.scheduler.section(name))
    built: ports.Scheduler = plugin.factory(section)
    return built


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who this server is: its installation (the database) and its instance (this process)."""

    installation: str
    """Fixed when the database was made and shared by every server using it; labels every
    container, so that another installation's containers on the same engine are never ours."""
    instance: str
    """Owns this process's leases. Stable across restarts while one process at a time uses the
    data directory, so a restarted server takes its tasks back at once, without waiting for its
    leases to expire; another process using the same directory gets a name of its own."""
    lock: IO[str] | None
    """Held open for the life of the process: the claim on the stable instance name."""


def identity(store: ports.Store, data_dir: pathlib.Path) -> Identity:
    """Return the installation's name and choose this process's instance name."""
    installation = store.installation()
    path = data_dir / "instance-id"
    try:
        stable = path.read_text().strip()
    except FileNotFoundError:
        stable = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        path.write_text(stable + "\n")
    lock = (data_dir / "instance.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        return Identity(installation, instance, None)
    return Identity(installation, stable, lock)


def build(settings: config.Settings) -> Server:
    """Wire a server from ``settings``: migrate the database and connect every adapter."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # logs, tokens, the DB
    database.migrate(settings.database_url)
    store = sql_store.Store(database.connect(settings.database_url))
    content = object_files.Store(settings.objects_dir)
    logs = files.Store(settings.logs_dir, content)
    sched = scheduler(settings)
    me = identity(store, settings.data_dir)
    keys = cipher(settings)
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
            instance_id=me.instance,
            lease=settings.engine.lease,
            installation=me.installation,
            remove_orphans=settings.engine.orphans == "remove",
            api_url=task_url(settings, sched),
        ),
        clock=context.utcnow,
        cipher=keys,
        objects=content,
    )
    ctx = context.Context(
        store=store,
        logs=logs,
        wake=engine.wake,
        instance=me.instance,
        cipher=keys,
        objects=content,
        images=sched.images,
        limits=context.Limits(
            keep_pipeline_objects=settings.objects.keep_pipeline_objects,
            keep_runs=settings.objects.keep_runs,
            max_pipeline_object_bytes=settings.objects.max_pipeline_object_bytes,
            max_run_object_bytes=settings.objects.max_run_object_bytes,
        ),
    )
    audit.abandon(ctx)
    admin_token = first_token(ctx, settings.data_dir)
    housekeeper = housekeeping.Housekeeper(
        ctx, retention=settings.events.retention, keep_runs=settings.logs.keep_runs
    )
    canaries = deployments.canary_watch(ctx)
    extensions = supervisor.Supervisor(
        functools.partial(installed_extensions, settings, ctx, python_extensions(settings), set()),
        log_dir=settings.data_dir / "extensions",
        api_url=local_url(settings),
        token=functools.partial(tokens.for_extension, ctx),
        wanted=functools.partial(subscriptions.wanted, ctx, subscriptions.Versions()),
        scheduler=sched,
        labels={"installation": me.installation, "instance": me.instance},
    )
    ctx = dataclasses.replace(ctx, extensions=extensions)
    log.debug("identity", extra={"installation": me.installation, "instance": me.instance})

    @contextlib.asynccontextmanager
    async def lifespan(_: fastapi.FastAPI) -> AsyncIterator[None]:
        engine.start()
        housekeeper.start()
        canaries.start()
        extensions.start()
        engine.wake()
        log.info("engine started", extra={"scheduler": sched.name})
        try:
            yield
        finally:
            extensions.stop()
            canaries.stop()
            housekeeper.stop()
            engine.stop()

    app = api_app.create(ctx, settings, lifespan=lifespan)
    return Server(settings, store, logs, sched, engine, ctx, app, me, admin_token)


def python_extensions(settings: config.Settings) -> list[supervisor.Installed]:
    """Return the extensions installed as Python entry points, with their configuration from
    the settings: read once, as they change only with the server's own installation."""
    return [
        supervisor.Installed(
            name, supervisor.python_command(name), settings.extensions.config_of(name)
        )
        for name in sorted(installs.python_extensions())
    ]


def installed_extensions(
    settings: config.Settings,
    ctx: context.Context,
    python: list[supervisor.Installed],
    unreadable: set[str],
) -> list[supervisor.Installed]:
    """Return the extensions to run, but those the settings disable: ``python`` (those of
    ``python_extensions``), and those installed from images (with the configuration given at
    install, run from the very image installed). One whose configuration cannot be decrypted is
    not run; it is reported once, in ``unreadable``."""
    found = list(python)
    for each in installs.list_(ctx):
        try:
            config = installs.config_of(ctx, each)
        except errors.FailedPrecondition as exc:
            if each.name not in unreadable:
                log.error(
                    "extension not run: its configuration cannot be decrypted",
                    extra={"extension": each.name, "error": str(exc), "hint": exc.hint},
                )
                unreadable.add(each.name)
            continue
        unreadable.discard(each.name)
        found.append(supervisor.Installed(each.name, config=config, image=each.image_id))
    return [each for each in found if each.name not in settings.extensions.disabled]


def local_url(settings: config.Settings) -> str:
    """Return the URL processes on this host reach the API at (extensions, among them)."""
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a comparison, not a bind
        host = "127.0.0.1"
    return f"http://{host}:{settings.server.port}"


def task_url(settings: config.Settings, sched: ports.Scheduler) -> str:
    """Return the URL tasks reach the API at: ``server.task_url``, else the host as seen from a
    container (``host.docker.internal``, which the Docker scheduler maps to the host) or, for a
    scheduler without isolation, from the host itself."""
    if settings.server.task_url:
        return settings.server.task_url.rstrip("/")
    host = "host.docker.internal" if sched.capabilities.isolation else "127.0.0.1"
    return f"http://{host}:{settings.server.port}"


SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name, not a secret
"""The file in the data directory that holds the generated secrets key of development mode."""


def cipher(settings: config.Settings) -> ports.Cipher | None:
    """Return the cipher of secrets: under ``secrets.key``; in development mode without one,
    under a key generated once and kept in the data directory; else None (no secrets)."""
    configured = settings.secrets
    key = configured.key
    if key is None and settings.dev:
        path = settings.data_dir / SECRET_KEY_FILE
        if not path.exists():
            _write_private(path, aesgcm.new_key())
        key = path.read_text().strip()
    if key is None:
        log.warning("secrets.key is not set: secrets cannot be set or used")
        return None
    previous = [
        aesgcm.parse_key(k, field="secrets.previous_keys") for k in configured.previous_keys
    ]
    return aesgcm.Keyring(aesgcm.parse_key(key), previous)


def _write_private(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to a new file at ``path`` that only this user can read."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")


ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
"""The file in the data directory that holds the first admin token, readable by its owner only."""


def first_token(ctx: context.Context, data_dir: pathlib.Path) -> pathlib.Path | None:
    """Make the first admin token when there is no token at all, and write it to a file only the
    server's user can read; return the file, or None when a token existed."""
    try:
        made = tokens.bootstrap(ctx.acting_as(deployments.SYSTEM_ACTOR))
    except errors.AlreadyExists:
        return None  # another server sharing the database made it just now
    if made is None:
        return None
    path = data_dir / ADMIN_TOKEN_FILE
    _write_private(path, made.text)
    return path


def serve(settings: config.Settings) -> None:
    """Run the API server and the engine in this process until interrupted."""
    import uvicorn

    from hostler import logging as hostler_logging

    hostler_logging.configure(settings.logging.level, settings.logging.format)
    server = build(settings)
    if server.admin_token is not None:
        # Shown once, on the terminal only: never in a log record.
        print(
            f"Hostler made the first admin token; it is shown this once:\n\n"
            f"    {server.admin_token.read_text().strip()}\n\n"
            f"It is also in {server.admin_token}, readable by this user only. Use it with\n"
            f"'hostler context add NAME --url URL --token TOKEN', or as HOSTLER_TOKEN.\n",
            file=sys.stderr,
            flush=True,
        )
    if settings.dev:
        log.warning("development mode: authentication is OFF, every request may do anything")
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
