"""What every use case is given: the ports it works through, the clock, the engine's doorbell."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

from hostler.core import ports


def utcnow() -> datetime.datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Context:
    """The ports and helpers a use case needs; built once by bootstrap."""

    store: ports.Store
    logs: ports.LogStore
    clock: Callable[[], datetime.datetime] = utcnow
    wake: Callable[[], None] = lambda: None
    """Tells the engine that there is new work (a run started, a cancel asked)."""
