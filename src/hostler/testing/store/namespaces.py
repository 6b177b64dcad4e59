"""Namespaces in memory, as the ``namespaces`` table keeps them; ``default`` exists from the
start."""

from __future__ import annotations

import dataclasses
import datetime

from hostler.core import errors, namespaces
from hostler.testing.store import columns

DEFAULT_DESCRIPTION = "The default namespace"
"""The description of ``default``, which exists from the start as after the first migration."""


class Table:
    """The namespaces by name; call with the store's lock held."""

    def __init__(self) -> None:
        created = datetime.datetime.now(datetime.UTC)
        self._by_name: dict[str, namespaces.Namespace] = {
            "default": namespaces.Namespace("default", DEFAULT_DESCRIPTION, created)
        }

    def create(self, namespace: namespaces.Namespace) -> namespaces.Namespace:
        """Store a new namespace and return it as stored; ``AlreadyExists`` if the name is taken."""
        if namespace.name in self._by_name:
            raise errors.AlreadyExists(
                f"namespace '{namespace.name}': already exists",
                field="namespace",
                hint="choose another name, or use the namespace that exists",
            )
        stored = dataclasses.replace(namespace, created=columns.utc(namespace.created))
        self._by_name[stored.name] = stored
        return stored

    def get(self, name: str) -> namespaces.Namespace:
        """Return the namespace ``name``; ``NotFound`` if there is none."""
        self.require(name)
        return self._by_name[name]

    def list_(self, after: str | None, limit: int) -> list[namespaces.Namespace]:
        """Return at most ``limit`` namespaces ordered by name, after the name ``after``."""
        found = sorted(self._by_name.values(), key=lambda n: n.name)
        return columns.limited([n for n in found if after is None or n.name > after], limit)

    def require(self, name: str) -> None:
        """Raise ``NotFound`` naming the namespace ``name`` if there is none."""
        if name not in self._by_name:
            raise errors.NotFound(
                f"namespace '{name}': not found",
                field="namespace",
                hint="check the name, or create the namespace first",
            )
