"""The ``local`` scheduler plug-in: tasks as host processes, WITHOUT ANY ISOLATION.

For development and for tests of the engine only: a task runs with the server's own rights.
"""

from __future__ import annotations

from hostler import plugins
from hostler.schedulers.local.scheduler import Config, Scheduler

plugin = plugins.Plugin(
    name="local",
    description=(
        "Runs each task's command as a process on this host, WITHOUT ISOLATION (the image is "
        "ignored); for development and engine tests only, never for untrusted pipelines."
    ),
    config=Config,
    factory=Scheduler,
)
"""The entry point ``hostler.schedulers: local``."""

__all__ = ["Config", "Scheduler", "plugin"]
