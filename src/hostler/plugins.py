"""Plug-in families and how their members are found: Python entry points, built-ins included.

A member is a ``Plugin``: a name, a pydantic model for its own section of the configuration, and a
factory that builds it from that configuration. Built-ins register exactly like third-party
packages, through ``[project.entry-points."hostler.<family>"]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import metadata
from typing import Any, Generic, TypeVar

import pydantic

from hostler.core import errors

T = TypeVar("T")

FAMILIES = ("schedulers",)


@dataclasses.dataclass(frozen=True)
class Plugin(Generic[T]):
    """One member of a plug-in family: its name, its settings model, and how to build it."""

    name: str
    description: str
    config: type[pydantic.BaseModel]
    factory: Callable[[Any], T]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A discovered entry point and whether it loaded; ``error`` says why not."""

    family: str
    name: str
    target: str
    plugin: Plugin[Any] | None
    error: str | None


def discover(family: str) -> list[Entry]:
    """Return every entry point of ``family`` (e.g. ``schedulers``), loaded or with its error."""
    found = []
    for ep in metadata.entry_points(group=f"hostler.{family}"):
        try:
            plugin = ep.load()
            if not isinstance(plugin, Plugin):
                raise TypeError(f"{ep.value} is not a hostler.plugins.Plugin")
            found.append(Entry(family, ep.name, ep.value, plugin, None))
        except Exception as exc:  # a broken third-party plugin must not stop the server
            found.append(Entry(family, ep.name, ep.value, None, f"{type(exc).__name__}: {exc}"))
    return sorted(found, key=lambda e: e.name)


def load(family: str, name: str) -> Plugin[Any]:
    """Return the plug-in ``name`` of ``family``, or raise NotFound / FailedPrecondition."""
    entries = discover(family)
    for entry in entries:
        if entry.name == name:
            if entry.plugin is None:
                raise errors.FailedPrecondition(
                    f"{family} plug-in '{name}': failed to load ({entry.error})",
                    hint="check that the package providing it is installed correctly",
                )
            return entry.plugin
    known = ", ".join(e.name for e in entries) or "none"
    raise errors.NotFound(
        f"{family} plug-in '{name}': not installed (installed: {known})",
        field=family.rstrip("s"),
        hint="install the package that provides it, or choose an installed one",
    )
