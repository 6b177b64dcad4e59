"""The extensions installed from images, in memory, as the ``extensions`` table keeps them."""

from __future__ import annotations

import dataclasses

from hostler.core import errors, images
from hostler.testing.store import columns


class Table:
    """The extensions by name; call with the store's lock held."""

    def __init__(self) -> None:
        self._by_name: dict[str, images.Installed] = {}

    def put(self, extension: images.Installed) -> images.Installed:
        """Store ``extension``, replacing the one of its name; return it as stored."""
        stored = dataclasses.replace(
            extension,
            config={str(k): str(v) for k, v in columns.json_copy(extension.config).items()},
            installed=columns.utc(extension.installed),
        )
        self._by_name[stored.name] = stored
        return stored

    def get(self, name: str) -> images.Installed:
        """Return the extension installed as ``name``; ``NotFound`` if there is none."""
        found = self._by_name.get(name)
        if found is None:
            raise _not_found(name)
        return found

    def list_(self, after: str | None, limit: int) -> list[images.Installed]:
        """Return at most ``limit`` extensions ordered by name, after the name ``after``."""
        found = sorted(self._by_name.values(), key=lambda e: e.name)
        return columns.limited([e for e in found if after is None or e.name > after], limit)

    def delete(self, name: str) -> None:
        """Delete the extension installed as ``name``; ``NotFound`` if there is none."""
        if self._by_name.pop(name, None) is None:
            raise _not_found(name)


def _not_found(name: str) -> errors.NotFound:
    return errors.NotFound(
        f"extension '{name}': not installed from an image",
        field="name",
        hint="'hostler extension installed' lists those that are; install one with "
        "'hostler extension install NAME IMAGE'",
    )
