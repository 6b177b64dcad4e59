"""Secrets in memory, as the ``secrets`` table keeps them and the SQL store reads them back.

A secret's place is ``''`` for the global ones and ``NAMESPACE/PIPELINE`` for a pipeline's, whose
pipeline must exist.
"""

from __future__ import annotations

from hostler.core import errors, secrets
from hostler.testing.store import columns
from hostler.testing.store import pipelines as pipeline_table


class Table:
    """The secrets by place and name; call with the store's lock held."""

    def __init__(self, pipelines: pipeline_table.Table) -> None:
        self._pipelines = pipelines
        self._by_key: dict[tuple[str, str], secrets.Secret] = {}

    def put(self, secret: secrets.Secret) -> secrets.Secret:
        """Store ``secret``, replacing one of that name in that place (which keeps its
        ``created`` and counts its revision up); return it as stored. NotFound when its pipeline
        does not exist; InvalidArgument when only one of its namespace and pipeline is given."""
        place = _place(secret.namespace, secret.pipeline)
        if secret.namespace is not None and secret.pipeline is not None:
            self._pipelines.require(secret.namespace, secret.pipeline)
        # The SQL store binds the update time first and the creation time only to insert.
        updated = columns.utc(secret.updated)
        current = self._by_key.get((place, secret.name))
        if current is None:
            created, revision = columns.utc(secret.created), 1
        else:
            created, revision = current.created, current.revision + 1
        # As the SQL store reads it back: bytes, a tuple of patterns of its own.
        stored = secret.evolve(
            ciphertext=bytes(secret.ciphertext),
            namespaces=columns.strings_copy(secret.namespaces),
            created=created,
            updated=updated,
            revision=revision,
        )
        self._by_key[place, secret.name] = stored
        return stored

    def get(self, namespace: str | None, pipeline: str | None, name: str) -> secrets.Secret:
        """Return one secret; NotFound names the namespace or pipeline if that is missing."""
        found = self._by_key.get((_place(namespace, pipeline), name))
        if found is None:
            raise self._not_found(namespace, pipeline, name)
        return found

    def list_(
        self, namespace: str | None, pipeline: str | None, after: str | None, limit: int
    ) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets of a pipeline (or the global ones) ordered by name,
        after the name ``after``."""
        place = _place(namespace, pipeline)
        found = sorted((s for (p, _), s in self._by_key.items() if p == place), key=_by_name)
        found = columns.limited([s for s in found if after is None or s.name > after], limit)
        if not found and namespace is not None and pipeline is not None:
            self._pipelines.require(namespace, pipeline)
        return found

    def delete(self, namespace: str | None, pipeline: str | None, name: str) -> None:
        """Delete one secret; NotFound if there is none."""
        if self._by_key.pop((_place(namespace, pipeline), name), None) is None:
            raise self._not_found(namespace, pipeline, name)

    def list_not_under(self, key: str, limit: int) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets, of any place, encrypted under another key than
        ``key``: the global ones first, then the pipelines' by place and name."""
        # Ordered by (place, name) as the SQL store orders them.
        places = sorted(k for k, s in self._by_key.items() if s.key != key)
        return columns.limited([self._by_key[k] for k in places], limit)

    def _not_found(self, namespace: str | None, pipeline: str | None, name: str) -> errors.NotFound:
        if namespace is None or pipeline is None:
            subject = f"global secret '{name}'"
        else:
            self._pipelines.require(namespace, pipeline)
            subject = f"secret '{name}' of pipeline '{namespace}/{pipeline}'"
        return errors.NotFound(
            f"{subject}: not found", field="secret", hint="list the secrets to see which exist"
        )


def _place(namespace: str | None, pipeline: str | None) -> str:
    """Return the place of a secret as the SQL store keys it; InvalidArgument as it raises."""
    if namespace is None and pipeline is None:
        return ""
    if namespace is None or pipeline is None:
        quoted = ["none" if v is None else f"'{v}'" for v in (namespace, pipeline)]
        raise errors.InvalidArgument(
            f"secrets: namespace {quoted[0]} with pipeline {quoted[1]}: not a place",
            field="namespace" if namespace is None else "pipeline",
            hint="give both a namespace and a pipeline for a pipeline's secrets, "
            "neither for the global ones",
        )
    return f"{namespace}/{pipeline}"


def _by_name(secret: secrets.Secret) -> str:
    return secret.name
