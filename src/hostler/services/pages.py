"""Cursor pagination: opaque cursors on the wire, typed keys inside."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from hostler.core import errors

T = TypeVar("T")
K = TypeVar("K", str, int)

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` fetches the next one and is None on the last page."""

    items: list[T]
    next_cursor: str | None


def encode(key: str | int) -> str:
    """Return an opaque cursor for the list key ``key``."""
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode().rstrip("=")


def decode(cursor: str | None, kind: type[K]) -> K | None:
    """Return the key inside ``cursor`` (None for None); InvalidArgument if it is not ours."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)["k"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        key = None
    if not isinstance(key, kind) or isinstance(key, bool):
        raise errors.InvalidArgument(
            "cursor: not a cursor this list gave out",
            field="cursor",
            hint="pass the next_cursor value of the previous page unchanged, or none for page one",
        )
    return key


def check_limit(limit: int) -> int:
    """Return ``limit`` if it is between 1 and MAX_LIMIT, else raise InvalidArgument."""
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidArgument(
            f"limit: {limit} is out of range",
            field="limit",
            hint=f"ask for 1 to {MAX_LIMIT} items per page",
        )
    return limit


def page(
    fetch: Callable[[K | None, int], Sequence[T]],
    cursor: str | None,
    limit: int,
    kind: type[K],
    key: Callable[[T], K],
) -> Page[T]:
    """Fetch one page with ``fetch(after, limit + 1)`` and build its next cursor from ``key``."""
    limit = check_limit(limit)
    items = list(fetch(decode(cursor, kind), limit + 1))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode(key(items[-1])) if more and items else None)


def every(fetch: Callable[[Any, int], list[T]], key: Callable[[T], Any]) -> Iterator[T]:
    """Yield every item of a store listing (``fetch(after, limit)``), page after page, lazily."""
    after = None
    while True:
        items = fetch(after, MAX_LIMIT)
        yield from items
        if len(items) < MAX_LIMIT:
            return
        after = key(items[-1])
