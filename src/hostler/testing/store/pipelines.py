"""Pipelines and their versions in memory, as the ``pipelines`` and ``versions`` tables keep them.

A pipeline is made with its first version, and counts the ids of its runs from 1. A version's
configuration is kept as its canonical JSON text and read back from it, so that each one returned
is a copy of its own.
"""

from __future__ import annotations

import dataclasses
import datetime
import json

from hostler.core import errors, pipelines
from hostler.testing.store import columns
from hostler.testing.store import namespaces as namespace_table

_Key = tuple[str, str]


@dataclasses.dataclass(frozen=True)
class _StoredVersion:
    """A version as the SQL store keeps it: the configuration as its canonical JSON text."""

    digest: str
    config: str
    created: datetime.datetime


class Table:
    """The pipelines, their versions and their last run ids by namespace and pipeline id; call
    with the store's lock held."""

    def __init__(self, namespaces: namespace_table.Table) -> None:
        self._namespaces = namespaces
        self._pipelines: dict[_Key, pipelines.Pipeline] = {}
        self._run_counters: dict[_Key, int] = {}
        self._versions: dict[_Key, dict[int, _StoredVersion]] = {}

    def get(self, namespace: str, pipeline: str) -> pipelines.Pipeline:
        """Return the pipeline; ``NotFound`` names the namespace if that is what is missing."""
        found = self._pipelines.get((namespace, pipeline))
        if found is None:
            self._namespaces.require(namespace)
            raise errors.NotFound(
                f"pipeline '{namespace}/{pipeline}': not found",
                field="pipeline",
                hint="check the name, or register the pipeline first",
            )
        return found

    def require(self, namespace: str, pipeline: str) -> None:
        """Raise ``NotFound`` naming the namespace or the pipeline if either is missing."""
        self.get(namespace, pipeline)

    def list_(self, namespace: str, after: str | None, limit: int) -> list[pipelines.Pipeline]:
        """Return the namespace's pipelines ordered by id; ``NotFound`` for a missing namespace."""
        found = sorted(
            (p for (ns, _), p in self._pipelines.items() if ns == namespace),
            key=lambda p: p.id,
        )
        found = columns.limited([p for p in found if after is None or p.id > after], limit)
        if not found:
            self._namespaces.require(namespace)
        return found

    def compare(self, pipeline: pipelines.Pipeline, expected_revision: int) -> pipelines.Pipeline:
        """Return the stored pipeline of ``pipeline``'s key; ``Conflict`` unless it is at
        ``expected_revision``."""
        current = self.get(pipeline.namespace, pipeline.id)
        if current.revision != expected_revision:
            raise errors.changed_elsewhere(
                f"pipeline '{pipeline.ref}'", current.revision, expected_revision
            )
        return current

    def replace(
        self,
        current: pipelines.Pipeline,
        pipeline: pipelines.Pipeline,
        updated: datetime.datetime,
        canary: int | None,
    ) -> pipelines.Pipeline:
        """Write ``pipeline``'s description and live version over ``current`` (which
        ``compare`` returned) at the next revision, with ``updated`` and ``canary``."""
        stored = dataclasses.replace(
            current,
            description=pipeline.description,
            live_version=pipeline.live_version,
            updated=updated,
            revision=current.revision + 1,
            canary=canary,
        )
        self._pipelines[current.namespace, current.id] = stored
        return stored

    def update(
        self, pipeline: pipelines.Pipeline, expected_revision: int
    ) -> tuple[pipelines.Pipeline, pipelines.Pipeline]:
        """Write ``pipeline`` (description, live version, updated) with compare-and-set; return
        the pipeline before and after."""
        updated = columns.utc(pipeline.updated)
        current = self.compare(pipeline, expected_revision)
        return current, self.replace(current, pipeline, updated, current.canary)

    def next_run(self, namespace: str, pipeline: str) -> int:
        """Return the id the pipeline's next run gets; the pipeline must exist."""
        return self._run_counters[namespace, pipeline] + 1

    def count_run(self, namespace: str, pipeline: str, run: int) -> None:
        """Record ``run`` as the id of the pipeline's newest run."""
        self._run_counters[namespace, pipeline] = run

    def find_version(self, namespace: str, pipeline: str, digest: str) -> pipelines.Version | None:
        """Return the version of the pipeline with ``digest``, or None."""
        for number, stored in self._versions.get((namespace, pipeline), {}).items():
            if stored.digest == digest:
                return _version(namespace, pipeline, number, stored)
        return None

    def has_version(self, namespace: str, pipeline: str, version: int) -> bool:
        """Return whether the pipeline has the version numbered ``version``."""
        return version in self._versions.get((namespace, pipeline), {})

    def create_version(
        self, namespace: str, config: pipelines.Config, digest: str, now: datetime.datetime
    ) -> pipelines.Version:
        """Store ``config`` as the next version of pipeline ``config.id`` (created if new)."""
        self._namespaces.require(namespace)
        key = (namespace, config.id)
        now = columns.utc(now)
        versions = self._versions.get(key, {})
        if any(stored.digest == digest for stored in versions.values()):
            raise errors.Conflict(
                f"pipeline '{namespace}/{config.id}': a version with digest '{digest}' "
                "was stored at the same time",
                hint="look the version up by its digest again",
            )
        if key not in self._pipelines:
            self._pipelines[key] = pipelines.Pipeline(
                namespace, config.id, config.description, None, now, now, revision=1
            )
            self._run_counters[key] = 0
        number = max(versions, default=0) + 1
        stored = _StoredVersion(digest, pipelines.canonical_json(config), now)
        self._versions[key] = {**versions, number: stored}
        return _version(namespace, config.id, number, stored)

    def get_version(self, namespace: str, pipeline: str, version: int) -> pipelines.Version:
        """Return one version; ``NotFound`` names the namespace, pipeline or version missing."""
        stored = self._versions.get((namespace, pipeline), {}).get(version)
        if stored is None:
            self.require(namespace, pipeline)
            raise errors.NotFound(
                f"version {version} of pipeline '{namespace}/{pipeline}': not found",
                field="version",
                hint="list the pipeline's versions to see which exist",
            )
        return _version(namespace, pipeline, version, stored)

    def list_versions(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[pipelines.Version]:
        """Return the pipeline's versions, newest first (``after`` is a version number)."""
        versions = self._versions.get((namespace, pipeline), {})
        numbers = sorted((n for n in versions if after is None or n < after), reverse=True)
        found = [
            _version(namespace, pipeline, n, versions[n]) for n in columns.limited(numbers, limit)
        ]
        if not found:
            self.require(namespace, pipeline)
        return found


def _version(
    namespace: str, pipeline: str, number: int, stored: _StoredVersion
) -> pipelines.Version:
    """Return a version with a configuration of its own, read back from its canonical JSON."""
    config = pipelines.Config.model_validate(json.loads(stored.config))
    return pipelines.Version(namespace, pipeline, number, stored.digest, config, stored.created)
