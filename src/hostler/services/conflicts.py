"""Writes that lose a compare-and-set to another writer are read, decided and tried again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hostler.core import errors

T = TypeVar("T")

TRIES = 10
"""How many times a write is tried before the Conflict is given to the caller."""


def until_written(attempt: Callable[[], T], subject: str, doing: str) -> T:
    """Run ``attempt`` (read, decide, compare-and-set) again while it raises Conflict, such as
    when the engine moves a run meanwhile; a Conflict naming ``subject`` after ``TRIES`` tries."""
    for _ in range(TRIES):
        try:
            return attempt()
        except errors.Conflict:
            continue
    raise errors.Conflict(f"{subject}: changing too fast to {doing}", hint="try again in a moment")
