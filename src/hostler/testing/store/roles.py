"""The roles admins made, in memory, as the ``roles`` table keeps them and the SQL store reads
them back: without ``builtin``."""

from __future__ import annotations

from hostler.core import access, errors
from hostler.testing.store import columns


class Table:
    """The roles by name; call with the store's lock held."""

    def __init__(self) -> None:
        self._by_name: dict[str, access.Role] = {}

    def create(self, role: access.Role) -> access.Role:
        """Store a new role and return it as stored; ``AlreadyExists`` if its name is taken."""
        if role.name in self._by_name:
            raise errors.AlreadyExists(
                f"role '{role.name}': already exists",
                field="name",
                hint="choose another name, or delete the role first",
            )
        # As the SQL store reads it back from JSON: enum members, a tuple, no ``builtin``.
        grants = tuple(
            access.Grant(
                frozenset(map(access.Kind, g.kinds)),
                frozenset(map(access.Action, g.actions)),
                g.pattern,
            )
            for g in role.grants
        )
        stored = access.Role(role.name, role.description, grants)
        self._by_name[stored.name] = stored
        return stored

    def get(self, name: str) -> access.Role:
        """Return the role ``name``; ``NotFound`` if there is none."""
        found = self._by_name.get(name)
        if found is None:
            raise _not_found(name)
        return found

    def list_(self, after: str | None, limit: int) -> list[access.Role]:
        """Return at most ``limit`` roles ordered by name, after the name ``after``."""
        found = sorted(self._by_name.values(), key=lambda r: r.name)
        return columns.limited([r for r in found if after is None or r.name > after], limit)

    def delete(self, name: str) -> None:
        """Delete the role ``name``; ``NotFound`` if there is none."""
        if self._by_name.pop(name, None) is None:
            raise _not_found(name)


def _not_found(name: str) -> errors.NotFound:
    return errors.NotFound(
        f"role '{name}': not found", field="role", hint="list the roles to see which exist"
    )
