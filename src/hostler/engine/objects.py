"""The objects of a starting task: env references replaced by content, and files to copy in.

Both are read when the task starts, from the object store, for the task's pipeline and run only.
An object that does not exist fails the task before its container is made, with a reason naming
every missing one.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

from hostler.core import errors, objects, ports, reasons, tasks


def _find(store: ports.Store, execution: tasks.Execution, ref: objects.Ref) -> objects.Object | str:
    run = execution.run if ref.scope is objects.Scope.RUN else None
    try:
        return store.get_object(execution.namespace, execution.pipeline, run, ref.key)
    except errors.NotFound:
        where = f"run #{execution.run}" if run is not None else "the pipeline"
        return f"{ref}: no object '{ref.key}' in {where}"


def _found_all(
    store: ports.Store, execution: tasks.Execution, refs: Sequence[objects.Ref]
) -> list[objects.Object] | reasons.Reason:
    found = [_find(store, execution, ref) for ref in refs]
    missing = [item for item in found if isinstance(item, str)]
    if missing:
        return reasons.Reason(reasons.Kind.OBJECT_MISSING, "; ".join(missing))
    return [item for item in found if isinstance(item, objects.Object)]


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A task's env with its object references replaced, and the files to copy in."""

    env: dict[str, str]
    files: list[ports.File]


def prepare(
    store: ports.Store,
    content: ports.ObjectStore | None,
    execution: tasks.Execution,
    env: Mapping[str, str],
    listed: Sequence[str],
) -> Prepared | reasons.Reason:
    """Return ``env`` with its object references replaced by the objects' text, and the files of
    the task's ``objects`` (``listed``); or the reason they cannot be, naming every missing one."""
    in_env = objects.references(env)
    as_files = [objects.parse_ref(ref) for ref in listed]
    if not in_env and not as_files:
        return Prepared(dict(env), [])
    found = _found_all(store, execution, [*in_env, *as_files])
    if isinstance(found, reasons.Reason):
        return found
    if content is None:
        return reasons.Reason(reasons.Kind.OBJECT_MISSING, "objects: this server keeps none")
    values: dict[objects.Ref, str] = {}
    for ref, obj in zip(in_env, found, strict=False):
        value = _text(content, ref, obj)
        if isinstance(value, reasons.Reason):
            return value
        values[ref] = value
    files = [
        ports.File(ref.relative, obj.size, functools.partial(content.open, obj.name))
        for ref, obj in zip(as_files, found[len(in_env) :], strict=True)
    ]
    return Prepared(objects.substitute(env, values), files)


def _text(
    content: ports.ObjectStore, ref: objects.Ref, obj: objects.Object
) -> str | reasons.Reason:
    if obj.size > objects.ENV_MAX_BYTES:
        return reasons.Reason(
            reasons.Kind.OBJECT_MISSING,
            f"{ref}: {obj.size} bytes, more than env takes ({objects.ENV_MAX_BYTES}); "
            "list it in the task's objects to get it as a file",
        )
    with content.open(obj.name) as file:
        data = file.read()
    try:
        return data.decode()
    except UnicodeDecodeError:
        return reasons.Reason(
            reasons.Kind.OBJECT_MISSING,
            f"{ref}: not UTF-8 text; list it in the task's objects to get it as a file",
        )
