"""MemoryStore: ``ports.Store`` in dictionaries under a lock, for unit tests above the store.

It keeps the SQL store's promises (``hostler.storage.store``) so that a test written against it
holds on the real database: the same error categories, fields, hints and messages (the missing
parent named first), compare-and-set on ``revision``, run, version and deployment ids counted per
pipeline, list orders and ``after`` cursors, timestamps refused when naive and read back in UTC,
the same events appended in the same cases, with ids that are never reused, history record ids
that are never reused either, canary routing counted in the same steps, locks that expire at the
same instant, tokens, roles, secrets, objects and subscriptions read back as the SQL store reads
them from their columns, and objects evicted and expired in the same order.
The storage tests run against both to prove it (``tests/unit/storage``).

It is laid out as ``hostler.storage`` is: ``store.py`` holds ``MemoryStore``, which takes the lock
and hands each call to the ``Table`` of its concept, one module each (``namespaces``,
``pipelines`` with their versions, ``deployments`` with canary routing, ``runs`` with their task
executions, ``events``, ``history``, ``locks``, ``tokens``, ``roles``, ``secrets``,
``objects``, ``subscriptions``), and ``columns.py`` says how the SQL store's columns treat
values.
"""

from hostler.testing.store.namespaces import DEFAULT_DESCRIPTION
from hostler.testing.store.store import MemoryStore

__all__ = ["DEFAULT_DESCRIPTION", "MemoryStore"]
