"""What every use case is given: the ports it works through, the clock, the engine's doorbell."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

from hostler.core import access, ports


def utcnow() -> datetime.datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Limits:
    """The object settings the use cases apply; taken from ``[objects]``."""

    keep_pipeline_objects: int = 100
    keep_runs: int = 10
    max_pipeline_object_bytes: int = 1024**3
    max_run_object_bytes: int = 1024**3


@dataclasses.dataclass(frozen=True)
class Context:
    """The ports and helpers a use case needs; built once by bootstrap."""

    store: ports.Store
    logs: ports.LogStore
    clock: Callable[[], datetime.datetime] = utcnow
    wake: Callable[[], None] = lambda: None
    """Tells the engine that there is new work (a run started, a cancel asked)."""
    cipher: ports.Cipher | None = None
    """Encrypts secret values; None when the server has no ``secrets.key``."""
    objects: ports.ObjectStore | None = None
    """Keeps the content of objects; None where no use case needs it (some unit tests)."""
    limits: Limits = dataclasses.field(default_factory=lambda: Limits())
    """How many objects are kept, and how large they may be."""
    extensions: ports.ExtensionHost | None = None
    """Runs the extensions; None where none run (unit tests, tools)."""
    images: Callable[[str], list[ports.ImageInfo]] | None = None
    """Lists the images on the scheduler's engine that carry a label (``Scheduler.images``),
    where extensions are installed from; None: there are none (unit tests, tools)."""
    actor: str = "hostler"
    """Who asks: recorded in the audit history and on deployments. The API sets it per request."""
    principal: access.Principal | None = None
    """Who asks, with their rights, where a use case checks rights beyond the route's (a
    pipeline that follows another namespace's); None for Hostler itself, allowed everything."""
    instance: str = ""
    """The server this runs in (bootstrap's instance name), recorded in the audit history."""

    def acting_as(self, actor: str, principal: access.Principal | None = None) -> Context:
        """Return this context with ``actor`` (and ``principal``) as who asks."""
        return dataclasses.replace(self, actor=actor, principal=principal)
