"""Objects in memory, as the ``objects`` table keeps them and the SQL store reads them back.

An object is a pipeline's (``run`` None) or one run's, which must exist; putting one replaces the
object of that key in that place whole, and may evict the pipeline's oldest objects.
"""

from __future__ import annotations

import dataclasses

from hostler.core import errors, objects
from hostler.testing.store import columns
from hostler.testing.store import pipelines as pipeline_table
from hostler.testing.store import runs as run_table

_Key = tuple[str, str, int | None, str]


class Table:
    """The objects by pipeline, run and key; call with the store's lock held."""

    def __init__(self, pipelines: pipeline_table.Table, runs: run_table.Table) -> None:
        self._pipelines = pipelines
        self._runs = runs
        self._by_key: dict[_Key, objects.Object] = {}

    def put(
        self, obj: objects.Object, keep: int | None
    ) -> tuple[objects.Object, objects.Object | None, list[objects.Object]]:
        """Store ``obj``, replacing the object of that key in that place; then, for a pipeline's
        object with ``keep``, delete the pipeline's oldest objects beyond ``keep``, never
        ``obj``. Return ``obj`` as stored, the object replaced (or None) and those evicted,
        oldest first. NotFound when the pipeline (or the run) does not exist."""
        self._require_place(obj.namespace, obj.pipeline, obj.run)
        stored = _stored(obj)
        key = _key(stored)
        replaced = self._by_key.get(key)
        self._by_key[key] = stored
        if stored.run is not None or keep is None:
            return stored, replaced, []
        held = self._in_place(stored.namespace, stored.pipeline, None)
        excess = len(held) - max(keep, 0)
        if excess <= 0:
            return stored, replaced, []
        evicted = objects.oldest_first(o for o in held if o.key != stored.key)[:excess]
        for gone in evicted:
            del self._by_key[_key(gone)]
        return stored, replaced, evicted

    def get(self, namespace: str, pipeline: str, run: int | None, key: str) -> objects.Object:
        """Return one object; NotFound names the namespace, pipeline or run if that is missing."""
        found = self._by_key.get((namespace, pipeline, run, key))
        if found is None:
            raise self._not_found(namespace, pipeline, run, key)
        return found

    def list_(
        self, namespace: str, pipeline: str, run: int | None, after: str | None, limit: int
    ) -> list[objects.Object]:
        """Return at most ``limit`` objects of a pipeline (``run`` None) or of one run ordered
        by key, after the key ``after``."""
        found = sorted(self._in_place(namespace, pipeline, run), key=_by_key)
        found = columns.limited([o for o in found if after is None or o.key > after], limit)
        if not found:
            self._require_place(namespace, pipeline, run)
        return found

    def delete(self, namespace: str, pipeline: str, run: int | None, key: str) -> objects.Object:
        """Delete one object and return it; NotFound if there is none."""
        gone = self._by_key.pop((namespace, pipeline, run, key), None)
        if gone is None:
            raise self._not_found(namespace, pipeline, run, key)
        return gone

    def expire(
        self, namespace: str, pipeline: str, before_run: int, limit: int
    ) -> list[objects.Object]:
        """Delete at most ``limit`` objects of the pipeline's runs numbered below
        ``before_run`` and return them, by run then key."""
        found = sorted(
            (
                o
                for (ns, p, r, _), o in self._by_key.items()
                if (ns, p) == (namespace, pipeline) and r is not None and 1 <= r < before_run
            ),
            key=lambda o: (o.run, o.key),
        )
        expired = columns.limited(found, limit)
        for gone in expired:
            del self._by_key[_key(gone)]
        return expired

    def _in_place(self, namespace: str, pipeline: str, run: int | None) -> list[objects.Object]:
        return [
            o
            for (ns, p, r, _), o in self._by_key.items()
            if (ns, p, r) == (namespace, pipeline, run)
        ]

    def _require_place(self, namespace: str, pipeline: str, run: int | None) -> None:
        if run is None:
            self._pipelines.require(namespace, pipeline)
        else:
            self._runs.get(namespace, pipeline, run)

    def _not_found(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> errors.NotFound:
        self._require_place(namespace, pipeline, run)
        return objects.not_found(namespace, pipeline, run, key)


def _stored(obj: objects.Object) -> objects.Object:
    """Return ``obj`` as the SQL store reads it back: created in UTC (refused when naive)."""
    return dataclasses.replace(obj, created=columns.utc(obj.created))


def _key(obj: objects.Object) -> _Key:
    return (obj.namespace, obj.pipeline, obj.run, obj.key)


def _by_key(obj: objects.Object) -> str:
    return obj.key
