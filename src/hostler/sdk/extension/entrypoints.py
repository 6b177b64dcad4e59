"""Installed extensions found by name: the Python entry points of the group ``hostler.extensions``.

An entry point names either an ``Extension`` subclass (``every = "pkg.every:Every"``) or a
callable that serves the contract when called without arguments (``"pkg.every:Every.main"``,
or a function of an extension written without the SDK). ``python -m hostler.sdk.extension NAME``
runs one, which is how Hostler starts a Python extension as a subprocess.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from hostler.core import errors, extensions
from hostler.sdk.extension import base, logs, server

GROUP = extensions.ENTRY_POINTS
"""The entry-point group of extensions."""

_log = logging.getLogger(__name__)


def load(name: str) -> Callable[[], object]:
    """Return the callable that serves the installed extension ``name``; raise NotFound when no
    entry point has that name, InvalidArgument when it names something that cannot serve."""
    entries = sorted(metadata.entry_points(group=GROUP), key=lambda ep: ep.name)
    found = [ep for ep in entries if ep.name == name]
    if not found:
        known = ", ".join(ep.name for ep in entries) or "none"
        raise errors.NotFound(
            f"extension '{name}': not installed (installed: {known})",
            field="name",
            hint=f"install the package that provides it (entry point group '{GROUP}')",
        )
    entry = found[0]
    target = entry.load()
    if isinstance(target, type) and issubclass(target, base.Extension):
        return target.main
    if not callable(target):
        raise errors.InvalidArgument(
            f"extension '{name}': entry point '{entry.value}' is neither an Extension class nor "
            "a callable",
            field="name",
            hint="point the entry point at an Extension subclass or at a function that serves",
        )
    served: Callable[[], object] = target
    return served


def main(argv: Sequence[str]) -> None:
    """Run the installed extension named by the only argument; exit 2 when it cannot be found."""
    if len(argv) != 1:
        print("usage: python -m hostler.sdk.extension NAME", file=sys.stderr)
        sys.exit(server.EXIT_MISCONFIGURED)
    try:
        target = load(argv[0])
    except errors.HostlerError as exc:
        logs.configure()
        _log.error("extension cannot start", extra={"detail": exc.message, "hint": exc.hint})
        sys.exit(server.EXIT_MISCONFIGURED)
    target()
