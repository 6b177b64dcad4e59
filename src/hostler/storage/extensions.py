"""Rows of extensions installed from images: the ``extensions`` table on a Connection.

An extension is found by its name and replaced whole by a put (an update installs another
version). Its configuration is kept as a JSON object of text values, as given at install: it may
hold tokens, which the API never returns. Every function here runs inside the caller's
transaction; none commits.
"""

from __future__ import annotations

import json
from typing import Any

import semver
import sqlalchemy as sa

from hostler.core import errors, images
from hostler.storage import tables

_E = tables.extensions


def to_installed(row: sa.Row[Any]) -> images.Installed:
    """Return the extension stored in ``row``."""
    return images.Installed(
        name=row.name,
        image=row.image,
        image_id=row.image_id,
        version=semver.Version.parse(row.version),
        pin=row.pin,
        config=json.loads(row.config),
        installed=row.installed,
        installed_by=row.installed_by,
    )


def _values(extension: images.Installed) -> dict[str, Any]:
    return {
        "image": extension.image,
        "image_id": extension.image_id,
        "version": str(extension.version),
        "pin": extension.pin,
        "config": json.dumps(dict(extension.config), sort_keys=True, separators=(",", ":")),
        "installed": extension.installed,
        "installed_by": extension.installed_by,
    }


def not_found(name: str) -> errors.NotFound:
    """Return the error for an extension not installed from an image."""
    return errors.NotFound(
        f"extension '{name}': not installed from an image",
        field="name",
        hint="'hostler extension installed' lists those that are; install one with "
        "'hostler extension install NAME IMAGE'",
    )


def put(connection: sa.Connection, extension: images.Installed) -> images.Installed:
    """Store ``extension``, replacing the one of its name; return it as stored."""
    values = _values(extension)
    replace = _E.update().where(_E.c.name == extension.name).values(values).returning(*_E.c)
    row = connection.execute(replace).first()
    if row is None:
        try:
            # A savepoint, so that a lost race is told apart without aborting the transaction.
            with connection.begin_nested():
                insert = _E.insert().values(name=extension.name, **values).returning(*_E.c)
                row = connection.execute(insert).one()
        except sa.exc.IntegrityError:
            # Another writer inserted it between our update and our insert (PostgreSQL):
            # replace theirs, as if ours had come second.
            row = connection.execute(replace).first()
            if row is None:
                raise
    return to_installed(row)


def get(connection: sa.Connection, name: str) -> images.Installed:
    """Return the extension installed as ``name``; raise NotFound if there is none."""
    row = connection.execute(sa.select(_E).where(_E.c.name == name)).first()
    if row is None:
        raise not_found(name)
    return to_installed(row)


def list_(connection: sa.Connection, after: str | None, limit: int) -> list[images.Installed]:
    """Return at most ``limit`` extensions ordered by name, those after the name ``after``."""
    query = sa.select(_E).order_by(_E.c.name).limit(limit)
    if after is not None:
        query = query.where(_E.c.name > after)
    return [to_installed(row) for row in connection.execute(query)]


def delete(connection: sa.Connection, name: str) -> None:
    """Delete the extension installed as ``name``; raise NotFound if there is none."""
    if not connection.execute(_E.delete().where(_E.c.name == name)).rowcount:
        raise not_found(name)
