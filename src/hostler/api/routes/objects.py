"""Routes for objects: a pipeline's and a run's, uploaded and downloaded as streams.

An upload's body is the object's raw content. It is read chunk by chunk into the object store (in a
worker thread) and refused with 413 as soon as it passes the route's limit; a download streams the
stored file. Neither ever holds a whole object in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.to_thread
import fastapi
from fastapi import responses

from hostler.api import deps, errors, limits, schemas
from hostler.core import objects as core_objects
from hostler.services import objects
from hostler.services.context import Context

router = fastapi.APIRouter(tags=["objects"])

_PIPELINE = "/namespaces/{namespace}/pipelines/{pipeline}/objects"
_RUN = "/namespaces/{namespace}/pipelines/{pipeline}/runs/{run}/objects"
Key = Annotated[str, fastapi.Path(description="The object's key, e.g. report.txt.")]

_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The object's content, as raw bytes.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The object's content. ETag is its digest; X-Hostler-Digest too.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    **errors.responses(404),
}
_CHUNK = 1 << 20


async def _upload(
    request: fastapi.Request,
    ctx: Context,
    namespace: str,
    pipeline: str,
    run: int | None,
    key: str,
) -> schemas.Object:
    # Refuse what can be refused before a byte of the body is read.
    await anyio.to_thread.run_sync(objects.check_place, ctx, namespace, pipeline, run, key)
    limit = objects.max_bytes(ctx, run)
    if limits.declares_more(request, limit):
        raise objects.too_large(limit, run, key)
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await anext(stream)
        except StopAsyncIteration:
            return None

    def chunks() -> Iterator[bytes]:
        # Runs in the worker thread: each chunk is fetched from the event loop as it is needed.
        while (chunk := anyio.from_thread.run(next_chunk)) is not None:
            if chunk:
                yield chunk

    stored = await anyio.to_thread.run_sync(
        objects.put, ctx, namespace, pipeline, run, key, chunks()
    )
    return schemas.Object.from_entity(stored)


def _download(obj: core_objects.Object, content: BinaryIO) -> responses.StreamingResponse:
    def body() -> Iterator[bytes]:
        with content:
            while chunk := content.read(_CHUNK):
                yield chunk

    return responses.StreamingResponse(
        body(),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(obj.size),
            "ETag": f'"{obj.digest}"',
            "X-Hostler-Digest": obj.digest,
            "Content-Disposition": f'attachment; filename="{obj.key}"',
        },
    )


# -- a pipeline's objects ---------------------------------------------------------------------


@router.get(_PIPELINE, responses=errors.responses(404))
def list_pipeline_objects(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Object]:
    """List the pipeline's objects by key."""
    page = objects.list_(ctx, namespace, pipeline, None, cursor, limit)
    return schemas.Page[schemas.Object].of(page, schemas.Object.from_entity)


@router.put(f"{_PIPELINE}/{{key}}", responses=errors.responses(404, 413), openapi_extra=_UPLOAD)
async def put_pipeline_object(
    request: fastapi.Request,
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    key: Key,
) -> schemas.Object:
    """Store the body as the pipeline's object ``key``, replacing one of that key. Storing more
    than objects.keep_pipeline_objects evicts the oldest (an object.evicted event each)."""
    return await _upload(request, ctx, namespace, pipeline, None, key)


@router.get(f"{_PIPELINE}/{{key}}", response_class=responses.StreamingResponse, responses=_DOWNLOAD)
def get_pipeline_object(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, key: Key
) -> responses.StreamingResponse:
    """Download the pipeline's object ``key``."""
    return _download(*objects.open_(ctx, namespace, pipeline, None, key))


@router.delete(f"{_PIPELINE}/{{key}}", status_code=204, responses=errors.responses(404))
def delete_pipeline_object(
    ctx: deps.ContextDep, namespace: deps.Namespace, pipeline: deps.Pipeline, key: Key
) -> None:
    """Delete the pipeline's object ``key``."""
    objects.delete(ctx, namespace, pipeline, None, key)


# -- a run's objects --------------------------------------------------------------------------


@router.get(_RUN, responses=errors.responses(404))
def list_run_objects(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    cursor: deps.Cursor = None,
    limit: deps.Limit = deps.DEFAULT_LIMIT,
) -> schemas.Page[schemas.Object]:
    """List the run's objects by key."""
    page = objects.list_(ctx, namespace, pipeline, run, cursor, limit)
    return schemas.Page[schemas.Object].of(page, schemas.Object.from_entity)


@router.put(f"{_RUN}/{{key}}", responses=errors.responses(404, 413), openapi_extra=_UPLOAD)
async def put_run_object(
    request: fastapi.Request,
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    key: Key,
) -> schemas.Object:
    """Store the body as the run's object ``key``, replacing one of that key. A run's objects
    expire once objects.keep_runs newer runs exist."""
    return await _upload(request, ctx, namespace, pipeline, run, key)


@router.get(f"{_RUN}/{{key}}", response_class=responses.StreamingResponse, responses=_DOWNLOAD)
def get_run_object(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    key: Key,
) -> responses.StreamingResponse:
    """Download the run's object ``key``."""
    return _download(*objects.open_(ctx, namespace, pipeline, run, key))


@router.delete(f"{_RUN}/{{key}}", status_code=204, responses=errors.responses(404))
def delete_run_object(
    ctx: deps.ContextDep,
    namespace: deps.Namespace,
    pipeline: deps.Pipeline,
    run: deps.Run,
    key: Key,
) -> None:
    """Delete the run's object ``key``."""
    objects.delete(ctx, namespace, pipeline, run, key)
