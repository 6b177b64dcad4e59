"""Objects: files a pipeline keeps between runs, and files the tasks of one run hand each other.

A **pipeline object** belongs to a pipeline and stays until it is deleted, or evicted when the
pipeline holds more than the configured count (oldest first). A **run object** belongs to one run
and expires once that run is the configured number of runs old. Content is stored once whatever
the number of objects holding it (the object store is content-addressed).

Tasks read objects through references in their env, ``pipeline_object{{KEY}}`` and
``run_object{{KEY}}`` (replaced by the content, for small text values), or through ``objects``
(copied as files under ``/hostler/objects/pipeline/KEY`` and ``/hostler/objects/run/KEY`` before
the container starts).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
from collections.abc import Iterable, Mapping

from hostler.core import errors

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REF = re.compile(r"(pipeline_object|run_object)\{\{([^{}]*)\}\}")

FILES_DIR = "/hostler/objects"
"""Where a task finds the objects it lists in ``objects``, one directory per scope."""

ENV_MAX_BYTES = 64 * 1024
"""The largest object an env reference may name: env is for small values; files for the rest."""


class Scope(enum.StrEnum):
    """Whose an object is."""

    PIPELINE = "pipeline"
    RUN = "run"


def check_key(key: str, *, field: str = "key") -> str:
    """Return ``key`` if it is a valid object key, else raise InvalidArgument.

    A key is one file name: letters, digits, ``_``, ``-`` and ``.``, at most 128 characters, not
    starting with ``.`` or ``-``; never ``..`` nor ``/``, so that it cannot leave its scope.
    """
    if not isinstance(key, str) or "/" in key or ".." in key or not _KEY.fullmatch(key):
        raise errors.InvalidArgument(
            f"object key '{key}': not a valid key",
            field=field,
            hint="use 1 to 128 letters, digits, '_', '-' or '.', starting with a letter, digit "
            "or '_', without '/' or '..'",
        )
    return key


@dataclasses.dataclass(frozen=True)
class Object:
    """A stored object: where it belongs, its key, and the digest and size of its content.

    ``run`` is None for a pipeline object. Immutable; putting an object again replaces it.
    """

    namespace: str
    pipeline: str
    run: int | None
    key: str
    digest: str
    size: int
    created: datetime.datetime
    created_by: str

    @property
    def scope(self) -> Scope:
        """Whether the object is the pipeline's or one run's."""
        return Scope.PIPELINE if self.run is None else Scope.RUN

    @property
    def name(self) -> str:
        """Its name in the object store; the scopes' names can never collide."""
        return name_of(self.namespace, self.pipeline, self.run, self.key, self.digest)

    @property
    def ref(self) -> str:
        """The object written for people: ``team-a/build#4:report.txt``, ``team-a/build:data``."""
        where = f"{self.namespace}/{self.pipeline}"
        return f"{where}#{self.run}:{self.key}" if self.run is not None else f"{where}:{self.key}"


def name_of(namespace: str, pipeline: str, run: int | None, key: str, digest: str) -> str:
    """Return the object store name of an object's content: ``objects/NS/PIPELINE/pipeline/KEY/
    HEX`` or ``objects/NS/PIPELINE/runs/RUN/KEY/HEX``. Namespaces and pipelines are identifiers and
    keys hold no ``/``, so two objects never share a name; the digest in it lets new content be
    named before the object points to it, so a reader never finds a name missing."""
    hexdigest = digest.removeprefix("sha256:")
    if run is None:
        return f"objects/{namespace}/{pipeline}/pipeline/{key}/{hexdigest}"
    return f"objects/{namespace}/{pipeline}/runs/{run}/{key}/{hexdigest}"


def not_found(namespace: str, pipeline: str, run: int | None, key: str) -> errors.NotFound:
    """Return the error for a missing object (its pipeline or run being there)."""
    place = (
        f"pipeline '{namespace}/{pipeline}'"
        if run is None
        else f"run '{namespace}/{pipeline}#{run}'"
    )
    return errors.NotFound(
        f"object '{key}' of {place}: not found",
        field="key",
        hint="list the objects to see which exist",
    )


@dataclasses.dataclass(frozen=True)
class Ref:
    """A reference to an object in a task's env or ``objects``: its scope and its key."""

    scope: Scope
    key: str

    def __str__(self) -> str:
        return f"{self.scope.value}_object{{{{{self.key}}}}}"

    @property
    def path(self) -> str:
        """Where the object is copied in a task's container."""
        return f"{FILES_DIR}/{self.scope.value}/{self.key}"

    @property
    def relative(self) -> str:
        """Its path below ``FILES_DIR``."""
        return f"{self.scope.value}/{self.key}"


def parse_ref(text: str, *, field: str = "objects") -> Ref:
    """Return the reference ``text`` is (``pipeline_object{{KEY}}`` or ``run_object{{KEY}}``);
    InvalidArgument if it is none, or names an invalid key."""
    found = _REF.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise errors.InvalidArgument(
            f"object reference '{text}': not a reference",
            field=field,
            hint="write pipeline_object{{KEY}} or run_object{{KEY}}",
        )
    scope = Scope.PIPELINE if found.group(1) == "pipeline_object" else Scope.RUN
    return Ref(scope, check_key(found.group(2), field=field))


def references(env: Mapping[str, str]) -> list[Ref]:
    """Return the object references in the values of ``env``, each once, in order."""
    found: dict[Ref, None] = {}
    for value in env.values():
        for match in _REF.finditer(value):
            scope = Scope.PIPELINE if match.group(1) == "pipeline_object" else Scope.RUN
            found[Ref(scope, match.group(2))] = None
    return list(found)


def check_env(env: Mapping[str, str], *, field: str = "env") -> None:
    """Raise InvalidArgument for an object reference in ``env`` that names an invalid key."""
    for ref in references(env):
        check_key(ref.key, field=field)


def substitute(env: Mapping[str, str], values: Mapping[Ref, str]) -> dict[str, str]:
    """Return ``env`` with each object reference replaced by its value in ``values``."""

    def value(match: re.Match[str]) -> str:
        scope = Scope.PIPELINE if match.group(1) == "pipeline_object" else Scope.RUN
        return values.get(Ref(scope, match.group(2)), match.group(0))

    return {name: _REF.sub(value, text) for name, text in env.items()}


def oldest_first(objects: Iterable[Object]) -> list[Object]:
    """Return ``objects`` oldest first (by creation, then key): the order of eviction."""
    return sorted(objects, key=lambda o: (o.created, o.key))
