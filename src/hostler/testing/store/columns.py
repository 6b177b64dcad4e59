"""How the SQL store's columns and queries treat values, for the in-memory tables.

Timestamps are refused when naive and read back in UTC, JSON columns give back copies of their
own, and a negative ``LIMIT`` is no limit, as on SQLite, the SQL store's default database.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import TypeVar

from hostler.core import errors

_T = TypeVar("_T")


def limited(items: list[_T], limit: int) -> list[_T]:
    """Return the first ``limit`` of ``items``, all of them when ``limit`` is negative."""
    # A negative LIMIT is no limit on SQLite, the SQL store's default database.
    return items[:limit] if limit >= 0 else items


def utc(value: datetime.datetime) -> datetime.datetime:
    """Return ``value`` in UTC; refuse a naive one as the SQL store's timestamp columns do."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise errors.Internal(f"database: timestamp {value.isoformat()} has no time zone")
    return value.astimezone(datetime.UTC)


def maybe_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """Return ``value`` in UTC as ``utc`` does, or None for None."""
    return None if value is None else utc(value)


def json_copy(data: Mapping[str, object]) -> dict[str, object]:
    """Return ``data`` as the SQL store reads it back from its JSON text: a copy of its own."""
    copy: dict[str, object] = json.loads(json.dumps(data))
    return copy


def strings_copy(strings: Sequence[str]) -> tuple[str, ...]:
    """Return ``strings`` as the SQL store reads them back from a JSON list: a tuple."""
    copy: list[str] = json.loads(json.dumps(list(strings)))
    return tuple(copy)
