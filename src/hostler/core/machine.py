"""The shape every state machine of Hostler shares: a table of allowed transitions.

A machine maps ``(state, event)`` to the next ``(state, status)``. Anything not in the table is
rejected. The function is pure; storage applies its result with compare-and-set.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Generic, TypeVar

from hostler.core import errors

S = TypeVar("S", bound=enum.Enum)
T = TypeVar("T", bound=enum.Enum)
E = TypeVar("E", bound=enum.Enum)


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A transition the table does not allow; ``message`` says which and why."""

    message: str


@dataclasses.dataclass(frozen=True)
class Machine(Generic[S, T, E]):
    """A named table of allowed transitions ``(state, event) -> (state, status)``."""

    name: str
    table: Mapping[tuple[S, E], tuple[S, T]]

    def transition(self, state: S, event: E) -> tuple[S, T] | Rejected:
        """Return the next ``(state, status)`` for ``event`` in ``state``, or Rejected."""
        nxt = self.table.get((state, event))
        if nxt is None:
            return Rejected(f"{self.name}: cannot {event.value} when {state.value}")
        return nxt

    def apply(self, state: S, event: E) -> tuple[S, T]:
        """Like ``transition`` but raise FailedPrecondition when the table rejects it."""
        nxt = self.transition(state, event)
        if isinstance(nxt, Rejected):
            raise errors.FailedPrecondition(nxt.message)
        return nxt
