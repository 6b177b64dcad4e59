"""Use cases for objects: store one from a stream, read, list and delete them, expire old runs'.

Content goes to the object store first, under a name of its own, and the object's row is written
last: a reader never finds a row whose content is missing, and a failed upload leaves no row and
no name behind (the staging name that holds the content while it arrives is always removed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from hostler.core import errors, objects, ports
from hostler.services import pages
from hostler.services.context import Context

EXPIRE_BATCH = 500
"""Run objects deleted per store call when old runs' objects expire."""


def max_bytes(ctx: Context, run: int | None) -> int:
    """Return the size limit of an upload to a pipeline (``run`` None) or to a run."""
    limits = ctx.limits
    return limits.max_pipeline_object_bytes if run is None else limits.max_run_object_bytes


def too_large(limit: int, run: int | None, key: str) -> errors.TooLarge:
    """Return the error for an upload of object ``key`` over ``limit`` bytes."""
    setting = "max_pipeline_object_bytes" if run is None else "max_run_object_bytes"
    return errors.TooLarge(
        f"object '{key}': larger than the limit of {limit} bytes",
        field="body",
        hint=f"send less, or raise objects.{setting} in the server's configuration",
    )


def _content(ctx: Context) -> ports.ObjectStore:
    if ctx.objects is None:
        raise errors.Unavailable("objects: this server keeps no objects", hint="report this")
    return ctx.objects


def _limited(chunks: Iterable[bytes], limit: int, run: int | None, key: str) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit, run, key)
        yield chunk


def check_place(ctx: Context, namespace: str, pipeline: str, run: int | None, key: str) -> None:
    """Raise what an upload would raise before its body is read: a bad key, or a missing
    pipeline or run."""
    objects.check_key(key)
    if run is None:
        ctx.store.get_pipeline(namespace, pipeline)
    else:
        ctx.store.get_run(namespace, pipeline, run)


def put(
    ctx: Context,
    namespace: str,
    pipeline: str,
    run: int | None,
    key: str,
    chunks: Iterable[bytes],
) -> objects.Object:
    """Store the content of ``chunks`` (read as a stream) as object ``key`` of a pipeline
    (``run`` None) or of one run, replacing the object of that key. Storing a pipeline object
    beyond ``keep_pipeline_objects`` evicts the oldest ones."""
    check_place(ctx, namespace, pipeline, run, key)
    content = _content(ctx)
    staging = f"staging/{uuid.uuid4().hex}"
    try:
        info = content.put(_limited(chunks, max_bytes(ctx, run), run, key), name=staging)
        obj = objects.Object(
            namespace=namespace,
            pipeline=pipeline,
            run=run,
            key=key,
            digest=info.digest,
            size=info.size,
            created=ctx.clock(),
            created_by=ctx.actor,
        )
        held_before = content.exists(obj.name)  # the same content under that key already
        content.link(obj.name, obj.digest)
        try:
            keep = ctx.limits.keep_pipeline_objects if run is None else None
            replaced, evicted = ctx.store.put_object(obj, keep)
        except BaseException:
            if not held_before:
                content.unlink(obj.name)
            raise
    finally:
        content.unlink(staging)
    for gone in [*([replaced] if replaced is not None else []), *evicted]:
        if gone.name != obj.name:
            content.unlink(gone.name)
    return obj


def get(ctx: Context, namespace: str, pipeline: str, run: int | None, key: str) -> objects.Object:
    """Return object ``key`` of a pipeline (``run`` None) or of one run."""
    objects.check_key(key)
    return ctx.store.get_object(namespace, pipeline, run, key)


def open_(
    ctx: Context, namespace: str, pipeline: str, run: int | None, key: str
) -> tuple[objects.Object, BinaryIO]:
    """Return object ``key`` and its content opened for reading (the caller closes it)."""
    obj = get(ctx, namespace, pipeline, run, key)
    return obj, _content(ctx).open(obj.name)


def list_(
    ctx: Context,
    namespace: str,
    pipeline: str,
    run: int | None,
    cursor: str | None,
    limit: int,
) -> pages.Page[objects.Object]:
    """Return a page of the objects of a pipeline (``run`` None) or of one run, by key."""

    def fetch(after: str | None, size: int) -> list[objects.Object]:
        return ctx.store.list_objects(namespace, pipeline, run, after, size)

    return pages.page(fetch, cursor, limit, str, lambda o: o.key)


def delete(ctx: Context, namespace: str, pipeline: str, run: int | None, key: str) -> None:
    """Delete object ``key``; its content goes when no other object holds it."""
    objects.check_key(key)
    gone = ctx.store.delete_object(namespace, pipeline, run, key)
    if ctx.objects is not None:
        ctx.objects.unlink(gone.name)


def expire(ctx: Context, namespace: str, pipeline: str, newest_run: int) -> int:
    """Delete the objects of the pipeline's runs that are ``keep_runs`` runs older than
    ``newest_run``; return how many went."""
    before = newest_run - ctx.limits.keep_runs + 1
    if before <= 1:
        return 0
    count = 0
    while True:
        gone = ctx.store.expire_run_objects(namespace, pipeline, before, EXPIRE_BATCH)
        for obj in gone:
            if ctx.objects is not None:
                ctx.objects.unlink(obj.name)
        count += len(gone)
        if len(gone) < EXPIRE_BATCH:
            return count
