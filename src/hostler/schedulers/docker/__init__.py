"""The ``docker`` scheduler plug-in: task containers on a Docker engine or Podman's socket."""

from __future__ import annotations

from hostler import plugins
from hostler.schedulers.docker.scheduler import Config, Scheduler

plugin = plugins.Plugin(
    name="docker",
    description="Runs each task in a container on a Docker engine (or Podman's Docker socket).",
    config=Config,
    factory=Scheduler,
)
"""The entry point ``hostler.schedulers: docker``."""

__all__ = ["Config", "Scheduler", "plugin"]
