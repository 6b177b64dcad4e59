"""Use cases for roles: the built-in ones and those an admin makes, each a set of grants."""

from __future__ import annotations

from collections.abc import Sequence

from hostler.core import access, errors, identifiers
from hostler.services import audit, pages
from hostler.services.context import Context


def create(
    ctx: Context, name: str, description: str, grants: Sequence[access.Grant]
) -> access.Role:
    """Make a role called ``name`` that grants ``grants``."""
    with audit.recorded(ctx, "role.create", name, {"grants": [g.describe() for g in grants]}):
        identifiers.check(name, what="role", field="name")
        if name in access.BUILTIN:
            raise errors.AlreadyExists(
                f"role '{name}': is a built-in role", field="name", hint="choose another name"
            )
        if not grants:
            raise errors.InvalidArgument(
                f"role '{name}': needs at least one grant",
                field="grants",
                hint="e.g. kinds ['runs'], actions ['read', 'run'], pattern 'team-*'",
            )
        return ctx.store.create_role(access.Role(name, description, tuple(grants)))


def get(ctx: Context, name: str) -> access.Role:
    """Return a built-in or made role."""
    return access.BUILTIN.get(name) or ctx.store.get_role(name)


def custom(ctx: Context) -> list[access.Role]:
    """Return every role an admin made."""
    return list(pages.every(ctx.store.list_roles, lambda role: role.name))


def list_(ctx: Context) -> list[access.Role]:
    """Return the built-in roles, then the made ones by name."""
    return [*access.BUILTIN.values(), *custom(ctx)]


def delete(ctx: Context, name: str) -> None:
    """Delete a made role: tokens that have it lose what it granted."""
    with audit.recorded(ctx, "role.delete", name):
        if name in access.BUILTIN:
            raise errors.FailedPrecondition(
                f"role '{name}': is built in and cannot be deleted", field="role"
            )
        ctx.store.delete_role(name)
