"""Namespaces: the tenancy boundary. ``default`` exists from the start."""

from __future__ import annotations

import dataclasses
import datetime

DEFAULT = "default"


@dataclasses.dataclass(frozen=True)
class Namespace:
    """A namespace. ``name`` is required and never changes."""

    name: str
    description: str
    created: datetime.datetime
