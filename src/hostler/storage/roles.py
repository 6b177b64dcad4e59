"""Role rows: the ``roles`` table on a Connection, for the roles admins make.

A role's grants are kept as JSON text: a list of ``{"kinds", "actions", "pattern"}`` objects with
kinds and actions in the order of their enums, so that equal grants are stored as equal text.
Roles are created and deleted, never changed. Every function here runs inside the caller's
transaction; none commits.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hostler.core import access, errors
from hostler.storage import tables

_R = tables.roles
_KINDS = list(access.Kind)
_ACTIONS = list(access.Action)


def to_role(row: sa.Row[Any]) -> access.Role:
    """Return the role stored in ``row``."""
    return access.Role(
        name=row.name, description=row.description, grants=grants_from_json(row.grants)
    )


def grants_to_json(grants: Sequence[access.Grant]) -> str:
    """Return ``grants`` as the JSON text the ``grants`` column holds."""
    return json.dumps(
        [
            {
                # Converted first, so that a kind or action of no enum fails rather than vanish.
                "kinds": [k.value for k in sorted(map(access.Kind, grant.kinds), key=_KINDS.index)],
                "actions": [
                    a.value for a in sorted(map(access.Action, grant.actions), key=_ACTIONS.index)
                ],
                "pattern": grant.pattern,
            }
            for grant in grants
        ],
        separators=(",", ":"),
    )


def grants_from_json(text: str) -> tuple[access.Grant, ...]:
    """Return the grants kept as ``text`` by ``grants_to_json``."""
    return tuple(
        access.Grant(
            kinds=frozenset(access.Kind(kind) for kind in grant["kinds"]),
            actions=frozenset(access.Action(action) for action in grant["actions"]),
            pattern=grant["pattern"],
        )
        for grant in json.loads(text)
    )


def not_found(name: str) -> errors.NotFound:
    """Return the error for a role that does not exist."""
    return errors.NotFound(
        f"role '{name}': not found",
        field="role",
        hint="list the roles to see which exist",
    )


def already_exists(name: str) -> errors.AlreadyExists:
    """Return the error for a role whose name is taken."""
    return errors.AlreadyExists(
        f"role '{name}': already exists",
        field="name",
        hint="choose another name, or delete the role first",
    )


def create(connection: sa.Connection, role: access.Role, now: datetime.datetime) -> access.Role:
    """Insert ``role``, made at ``now``, and return it as stored (never ``builtin``: the flag is
    not kept); raise AlreadyExists if the name is taken."""
    if connection.execute(sa.select(_R.c.name).where(_R.c.name == role.name)).first():
        raise already_exists(role.name)
    try:
        row = connection.execute(
            _R.insert()
            .values(
                name=role.name,
                description=role.description,
                grants=grants_to_json(role.grants),
                created=now,
            )
            .returning(*_R.c)
        ).one()
    except sa.exc.IntegrityError as exc:
        # Another writer inserted the same name between our check and our insert (PostgreSQL).
        raise already_exists(role.name) from exc
    return to_role(row)


def get(connection: sa.Connection, name: str) -> access.Role:
    """Return the role ``name``; raise NotFound if there is none."""
    row = connection.execute(sa.select(_R).where(_R.c.name == name)).first()
    if row is None:
        raise not_found(name)
    return to_role(row)


def list_(connection: sa.Connection, after: str | None, limit: int) -> list[access.Role]:
    """Return at most ``limit`` roles ordered by name, those after the name ``after`` only."""
    query = sa.select(_R).order_by(_R.c.name).limit(limit)
    if after is not None:
        query = query.where(_R.c.name > after)
    return [to_role(row) for row in connection.execute(query)]


def delete(connection: sa.Connection, name: str) -> None:
    """Delete the role ``name``; raise NotFound if there is none."""
    if not connection.execute(_R.delete().where(_R.c.name == name)).rowcount:
        raise not_found(name)
