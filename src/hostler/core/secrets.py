"""Secrets: values kept encrypted, referenced from a task's env, masked wherever output goes.

A pipeline secret belongs to one pipeline; a global secret belongs to the installation and may be
used by the pipelines of the namespaces its patterns match (anchored, as in ``core.access``). A
task refers to them in its env as ``secret{{NAME}}`` and ``global_secret{{NAME}}``, anywhere in a
value; they are resolved only when the task starts. Names are environment-variable names.

Whatever a task prints is masked before it is stored or streamed: each value of a secret the task
was given (and each line of a value of several lines) becomes ``***``. Values shorter than
``MIN_MASKED`` characters are not masked: they would turn every such run of characters in the
output into stars, and no credential is that short.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from hostler.core import access, errors

MASK = "***"
MIN_MASKED = 4
MAX_VALUE_BYTES = 64 * 1024
"""The largest value a secret may have."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_REFERENCE = re.compile(r"(global_)?secret\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class Scope(enum.StrEnum):
    """Whose a secret is."""

    PIPELINE = "pipeline"
    GLOBAL = "global"


def check_name(name: str, *, field: str = "name") -> str:
    """Return ``name`` if it can name a secret; InvalidArgument naming ``field`` if not."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise errors.InvalidArgument(
            f"secret '{name}': not a valid name",
            field=field,
            hint="use letters, digits and '_', not starting with a digit, e.g. DB_PASSWORD",
        )
    return name


def check_value(value: str, *, field: str = "value") -> str:
    """Return ``value`` if a secret may hold it; InvalidArgument naming ``field`` if not."""
    if not value:
        raise errors.InvalidArgument("secret: the value is empty", field=field, hint="give one")
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise errors.InvalidArgument(
            f"secret: the value is larger than {MAX_VALUE_BYTES // 1024} KiB",
            field=field,
            hint="keep large files as objects, not secrets",
        )
    return value


@dataclasses.dataclass(frozen=True)
class Ref:
    """A reference to a secret from a task's env."""

    scope: Scope
    name: str

    def __str__(self) -> str:
        prefix = "global_secret" if self.scope is Scope.GLOBAL else "secret"
        return f"{prefix}{{{{{self.name}}}}}"


def references(env: Mapping[str, str]) -> list[Ref]:
    """Return the secrets ``env`` refers to, each once, in order of appearance."""
    found: dict[Ref, None] = {}
    for value in env.values():
        for match in _REFERENCE.finditer(value):
            scope = Scope.GLOBAL if match.group(1) else Scope.PIPELINE
            found[Ref(scope, match.group(2))] = None
    return list(found)


def substitute(env: Mapping[str, str], values: Mapping[Ref, str]) -> dict[str, str]:
    """Return ``env`` with every reference replaced by its value from ``values``."""

    def replace(match: re.Match[str]) -> str:
        scope = Scope.GLOBAL if match.group(1) else Scope.PIPELINE
        return values[Ref(scope, match.group(2))]

    return {name: _REFERENCE.sub(replace, value) for name, value in env.items()}


@dataclasses.dataclass(frozen=True)
class Secret:
    """A stored secret: where it belongs and its encrypted value. Immutable.

    ``namespace`` and ``pipeline`` are None for a global secret, whose ``namespaces`` are the
    patterns of the namespaces that may use it. ``key`` names the key its value is encrypted with.
    """

    namespace: str | None
    pipeline: str | None
    name: str
    ciphertext: bytes
    key: str
    created: datetime.datetime
    updated: datetime.datetime
    namespaces: tuple[str, ...] = ()
    revision: int = 1

    @property
    def scope(self) -> Scope:
        """Whose the secret is."""
        return Scope.GLOBAL if self.pipeline is None else Scope.PIPELINE

    @property
    def ref(self) -> str:
        """The secret written for people."""
        if self.pipeline is None:
            return f"global secret '{self.name}'"
        return f"secret '{self.name}' of pipeline '{self.namespace}/{self.pipeline}'"

    @property
    def context(self) -> bytes:
        """What the encryption binds the value to: it decrypts only in its own place."""
        return context_of(self.namespace, self.pipeline, self.name)

    def usable_in(self, namespace: str) -> bool:
        """Tell whether a pipeline of ``namespace`` may use this secret."""
        if self.pipeline is None:
            return any(access.matches(pattern, namespace) for pattern in self.namespaces)
        return self.namespace == namespace

    def evolve(self, **changes: Any) -> Secret:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def context_of(namespace: str | None, pipeline: str | None, name: str) -> bytes:
    """Return the encryption context of a secret at this place (see ``Secret.context``)."""
    return f"{namespace or ''}/{pipeline or ''}/{name}".encode()


class Masker:
    """Replaces secret values in text with ``MASK``, longest first."""

    def __init__(self, values: Iterable[str]) -> None:
        self._values = tuple(values)
        pieces: set[str] = set()
        for value in self._values:
            pieces.add(value)
            pieces.update(line for line in value.splitlines())
        kept = sorted((p for p in pieces if len(p) >= MIN_MASKED), key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in kept)) if kept else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        """Return ``text`` with every secret value in it replaced."""
        return text if self._pattern is None else self._pattern.sub(MASK, text)

    def adding(self, *values: str) -> Masker:
        """Return a masker of these values too (a run token given to the task, for one)."""
        return Masker((*self._values, *values))


NO_MASK = Masker(())
"""A masker that masks nothing."""


class Held:
    """The maskers of the tasks running in this process, so that Hostler's own log masks their
    secrets too (``hostler.logging``). Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._maskers: dict[int, Masker] = {}
        self._ids = itertools.count(1)

    def hold(self, masker: Masker) -> int:
        """Mask what ``masker`` masks until ``release`` is called with the id returned."""
        with self._lock:
            held = next(self._ids)
            if masker:
                self._maskers[held] = masker
            return held

    def release(self, held: int) -> None:
        """Stop masking for ``held``."""
        with self._lock:
            self._maskers.pop(held, None)

    def mask(self, text: str) -> str:
        """Return ``text`` masked by every held masker."""
        with self._lock:
            maskers = list(self._maskers.values())
        for masker in maskers:
            text = masker.mask(text)
        return text


RUNNING = Held()
"""The secrets of the tasks this process runs now; read by ``hostler.logging``."""
