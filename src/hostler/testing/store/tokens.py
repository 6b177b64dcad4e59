"""Tokens in memory, as the ``tokens`` table keeps them and the SQL store reads them back.

The checks run in the SQL store's order, so that a call that breaks two rules fails alike. A run
token's run is written once, as its other fields but the roles, expiry and disabled flag.
"""

from __future__ import annotations

from collections.abc import Sequence

from hostler.core import errors, tokens
from hostler.testing.store import columns


class Table:
    """The tokens by id; call with the store's lock held."""

    def __init__(self) -> None:
        self._by_id: dict[str, tokens.Token] = {}

    def create(self, token: tokens.Token) -> tokens.Token:
        """Store a new token at revision 1; ``AlreadyExists`` if its name (or id) is taken."""
        if any(t.name == token.name for t in self._by_id.values()):
            raise errors.AlreadyExists(
                f"token '{token.name}': already exists",
                field="name",
                hint="choose another name, or delete the old token first",
            )
        if token.id in self._by_id:
            raise errors.AlreadyExists(
                f"token '{token.id}': already exists",
                field="token",
                hint="make the token again: it gets a new random id",
            )
        stored = token.evolve(
            roles=_roles_copy(token.roles),
            created=columns.utc(token.created),
            expires=columns.maybe_utc(token.expires),
            revision=1,
        )
        self._by_id[stored.id] = stored
        return stored

    def get(self, token: str) -> tokens.Token:
        """Return the token with id ``token``; ``NotFound`` if there is none."""
        found = self._by_id.get(token)
        if found is None:
            raise _not_found(token)
        return found

    def list_(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return at most ``limit`` tokens ordered by name, after the name ``after``."""
        found = sorted(self._by_id.values(), key=lambda t: t.name)
        return columns.limited([t for t in found if after is None or t.name > after], limit)

    def list_run(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return at most ``limit`` run tokens ordered by name, after the name ``after``."""
        found = sorted((t for t in self._by_id.values() if t.run is not None), key=lambda t: t.name)
        return columns.limited([t for t in found if after is None or t.name > after], limit)

    def delete_run(self, namespace: str, pipeline: str, run: int) -> int:
        """Delete the tokens of one run; return how many (none is no error)."""
        of_run = tokens.RunRef(namespace, pipeline, run)
        gone = [t.id for t in self._by_id.values() if t.run == of_run]
        for token in gone:
            del self._by_id[token]
        return len(gone)

    def update(self, token: tokens.Token, expected_revision: int) -> tokens.Token:
        """Write the token's roles, expiry and disabled flag with compare-and-set."""
        # The SQL store binds the expiry before it looks at the row: a naive one fails first.
        expires = columns.maybe_utc(token.expires)
        current = self.get(token.id)
        if current.revision != expected_revision:
            raise errors.changed_elsewhere(
                f"token '{token.id}'", current.revision, expected_revision
            )
        stored = current.evolve(
            roles=_roles_copy(token.roles),
            expires=expires,
            disabled=token.disabled,
            revision=current.revision + 1,
        )
        self._by_id[stored.id] = stored
        return stored

    def delete(self, token: str) -> None:
        """Delete the token with id ``token``; ``NotFound`` if there is none."""
        if self._by_id.pop(token, None) is None:
            raise _not_found(token)


def _not_found(token: str) -> errors.NotFound:
    return errors.NotFound(
        f"token '{token}': not found", field="token", hint="list the tokens to see which exist"
    )


def _roles_copy(roles: Sequence[str]) -> tuple[str, ...]:
    """Return ``roles`` as the SQL store reads them back from their JSON list: a tuple."""
    return columns.strings_copy(roles)
