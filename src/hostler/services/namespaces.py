"""Use cases for namespaces: create (recorded in the audit history), get, list."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hostler.core import errors, identifiers, namespaces
from hostler.services import audit, pages
from hostler.services.context import Context


@dataclasses.dataclass(frozen=True)
class Created:
    """The namespace, and whether this call created it (False: it existed with that content)."""

    namespace: namespaces.Namespace
    created: bool


def create(ctx: Context, name: str, description: str = "") -> Created:
    """Create namespace ``name``; an identical one is "unchanged", a different one a conflict."""
    with audit.recorded(ctx, "namespace.create", name, {"description": description}) as entry:
        done = _create(ctx, name, description)
        entry.unchanged = not done.created
        return done


def _create(ctx: Context, name: str, description: str) -> Created:
    identifiers.check(name, what="namespace", field="name")
    try:
        existing = ctx.store.get_namespace(name)
    except errors.NotFound:
        ns = namespaces.Namespace(name=name, description=description, created=ctx.clock())
        try:
            return Created(ctx.store.create_namespace(ns), created=True)
        except errors.AlreadyExists:
            existing = ctx.store.get_namespace(name)
    if existing.description == description:
        return Created(existing, created=False)
    raise errors.AlreadyExists(
        f"namespace '{name}': already exists with another description",
        field="name",
        hint="choose another name, or leave the existing namespace as it is",
    )


def get(ctx: Context, name: str) -> namespaces.Namespace:
    """Return namespace ``name``."""
    return ctx.store.get_namespace(name)


def list_(
    ctx: Context,
    cursor: str | None,
    limit: int,
    visible: Callable[[str], bool] = lambda name: True,
) -> pages.Page[namespaces.Namespace]:
    """Return a page of the namespaces whose name is ``visible`` (to the caller), by name."""

    def fetch(after: str | None, count: int) -> list[namespaces.Namespace]:
        found: list[namespaces.Namespace] = []
        while len(found) < count:
            batch = ctx.store.list_namespaces(after, count)
            found += [namespace for namespace in batch if visible(namespace.name)]
            if len(batch) < count:
                break
            after = batch[-1].name
        return found[:count]

    return pages.page(fetch, cursor, limit, str, lambda n: n.name)
