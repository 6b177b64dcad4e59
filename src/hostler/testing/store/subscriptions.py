"""The subscriptions made by hand, in memory, as the ``subscriptions`` table keeps them and the
SQL store reads them back: settings as copies of their own, created in UTC."""

from __future__ import annotations

import dataclasses

from hostler.core import errors, subscriptions
from hostler.testing.store import columns
from hostler.testing.store import pipelines as pipeline_table

_Key = tuple[str, str, str]


class Table:
    """The subscriptions by namespace, pipeline and key; call with the store's lock held."""

    def __init__(self, pipelines: pipeline_table.Table) -> None:
        self._pipelines = pipelines
        self._by_key: dict[_Key, subscriptions.Manual] = {}

    def create(self, subscription: subscriptions.Manual) -> subscriptions.Manual:
        """Store a new subscription and return it as stored; NotFound when its pipeline does
        not exist, AlreadyExists if its key is taken."""
        sub = subscription
        self._pipelines.require(sub.namespace, sub.pipeline)
        key = _key(sub)
        if key in self._by_key:
            raise subscriptions.already_exists(sub.namespace, sub.pipeline, sub.key)
        stored = dataclasses.replace(
            sub, settings=columns.json_copy(sub.settings), created=columns.utc(sub.created)
        )
        self._by_key[key] = stored
        return _copy(stored)

    def get(self, namespace: str, pipeline: str, key: str) -> subscriptions.Manual:
        """Return one subscription; NotFound names the namespace or pipeline if missing."""
        found = self._by_key.get((namespace, pipeline, key))
        if found is None:
            raise self._not_found(namespace, pipeline, key)
        return _copy(found)

    def list_(
        self, namespace: str, pipeline: str, after: str | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return at most ``limit`` subscriptions of the pipeline ordered by key, after the key
        ``after``; NotFound for a missing namespace or pipeline."""
        found = sorted(
            (s for (ns, p, _), s in self._by_key.items() if (ns, p) == (namespace, pipeline)),
            key=lambda s: s.key,
        )
        found = columns.limited([s for s in found if after is None or s.key > after], limit)
        if not found:
            self._pipelines.require(namespace, pipeline)
        return [_copy(s) for s in found]

    def list_all(
        self, after: tuple[str, str, str] | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return at most ``limit`` subscriptions of every pipeline ordered by namespace,
        pipeline and key, after the triple ``after``."""
        found = [s for key, s in sorted(self._by_key.items()) if after is None or key > after]
        return [_copy(s) for s in columns.limited(found, limit)]

    def delete(self, namespace: str, pipeline: str, key: str) -> None:
        """Delete one subscription; NotFound if there is none."""
        if self._by_key.pop((namespace, pipeline, key), None) is None:
            raise self._not_found(namespace, pipeline, key)

    def _not_found(self, namespace: str, pipeline: str, key: str) -> errors.NotFound:
        self._pipelines.require(namespace, pipeline)
        return subscriptions.not_found(namespace, pipeline, key)


def _key(sub: subscriptions.Manual) -> _Key:
    return (sub.namespace, sub.pipeline, sub.key)


def _copy(sub: subscriptions.Manual) -> subscriptions.Manual:
    """Return ``sub`` with settings of its own, as each read of the SQL store gives."""
    return dataclasses.replace(sub, settings=columns.json_copy(sub.settings))
