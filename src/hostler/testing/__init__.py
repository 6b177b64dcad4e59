"""In-memory fakes of every port, for unit tests of the layers above the ports.

``MemoryStore`` (``ports.Store``), ``MemoryLogStore`` (``ports.LogStore``) and ``FakeScheduler``
(``ports.Scheduler``) keep the promises of the real adapters, so that the engine and the services
can be tested in milliseconds without a database, a log directory or a container engine. The
adapters' own tests run against the fakes too (``tests/unit/storage``, ``tests/unit/logs``): a fake
that drifts from its adapter fails them. Nothing in the server uses this package.
"""

from hostler.testing.logs import MemoryLogStore
from hostler.testing.scheduler import (
    FOREVER,
    SIGKILL_EXIT,
    SIGTERM_EXIT,
    Behaviour,
    Call,
    Event,
    FakeScheduler,
    by_task,
)
from hostler.testing.store import MemoryStore

__all__ = [
    "FOREVER",
    "SIGKILL_EXIT",
    "SIGTERM_EXIT",
    "Behaviour",
    "Call",
    "Event",
    "FakeScheduler",
    "MemoryLogStore",
    "MemoryStore",
    "by_task",
]
