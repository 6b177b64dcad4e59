"""Extensions as Hostler runs them: how each stands, for people and the API."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

ENTRY_POINTS = "hostler.extensions"
"""The entry-point group of the extensions installed as Python packages, the built-ins among
them."""


class State(enum.StrEnum):
    """Where a supervised extension is."""

    STARTING = "starting"
    """Started, and not answering its health check yet."""
    RUNNING = "running"
    """Answering its health check; it holds its subscriptions."""
    UNHEALTHY = "unhealthy"
    """Running, but its health check fails: it is restarted if that goes on."""
    WAITING = "waiting"
    """Not running: it stopped or was stopped, and starts again after its back-off."""


@dataclasses.dataclass(frozen=True)
class Status:
    """How one extension stands. Immutable."""

    name: str
    state: State
    pid: int | None
    restarts: int
    """How many times it was started again since the server started."""
    subscriptions: int
    """How many subscriptions it holds."""
    container: str | None = None
    """The short id of the container it runs in, for one installed from an image."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    """A request from outside for an extension (a webhook), as Hostler forwards it. Immutable.

    ``subscription`` is the id of the subscription the sender's URL names; ``headers`` have
    lower-case names; ``body`` is the raw body.
    """

    subscription: str | None
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the extension answers a delivery with, for its sender: a status and a JSON body."""

    status: int
    body: Any
