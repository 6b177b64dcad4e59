"""Following a task's log as Server-Sent Events: history from an offset first, then live lines.

The log store is synchronous (files, a database), so every read runs in a worker thread; between
reads the stream sleeps ``POLL_SECONDS``. Each line is an ``event: line`` whose ``id`` is its
offset, so a client that reconnects with ``Last-Event-ID`` resumes right after the last line it
saw. The stream ends with ``event: end`` once the log's end marker has been read; a comment is
sent every ``KEEP_ALIVE_SECONDS`` while nothing else is, so that proxies keep the connection.

``event``, ``KEEP_ALIVE`` and ``streaming`` are the SSE helpers that the event stream
(``hostler.api.eventstream``) shares.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import anyio.to_thread
import fastapi

from hostler.api import schemas
from hostler.core import errors
from hostler.core import tasks as core_tasks
from hostler.services import tasks
from hostler.services.context import Context

_log = logging.getLogger(__name__)

MEDIA_TYPE = "text/event-stream"
POLL_SECONDS = 0.2
"""How often the log store is asked for new lines while the log has not ended."""
KEEP_ALIVE_SECONDS = 15.0
"""Longest silence before a keep-alive comment."""
REFRESH_SECONDS = 1.0
"""How often an idle follow re-reads the task execution (its log may never have been written)."""
BATCH = 1000
"""Lines read from the log store at once."""

KEEP_ALIVE = ": keep-alive\n\n"


def event(name: str, data: str, event_id: int | None = None) -> str:
    """Return one SSE event; ``data`` must be a single line (compact JSON is)."""
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {data}\n\n"


async def follow(
    ctx: Context, execution: core_tasks.Execution, offset: int, request: fastapi.Request
) -> AsyncIterator[str]:
    """Yield the SSE events of ``execution``'s log from line ``offset`` until it ends.

    Stops early, without the ``end`` event, when the client disconnects or the log cannot be
    read; the client then resumes with ``Last-Event-ID``.
    """
    last_sent = last_refresh = time.monotonic()
    while True:
        try:
            chunk = await anyio.to_thread.run_sync(tasks.read_log, ctx, execution, offset, BATCH)
        except errors.HostlerError as exc:
            _log.warning(
                "log follow stopped: the log cannot be read",
                extra={"log_key": execution.log_key, "error": exc.message},
            )
            return
        for index, line in enumerate(chunk.lines):
            wire = schemas.LogLine.from_entity(offset + index, line)
            yield event("line", wire.model_dump_json(), wire.offset)
        if chunk.lines:
            offset = chunk.next_offset
            last_sent = time.monotonic()
            if len(chunk.lines) == BATCH:
                continue  # more may be waiting; read on before sleeping
        if chunk.ended:
            yield event("end", schemas.LogEnd(next_offset=offset).model_dump_json())
            return
        if await request.is_disconnected():
            return
        now = time.monotonic()
        if now - last_sent >= KEEP_ALIVE_SECONDS:
            yield KEEP_ALIVE
            last_sent = now
        if not chunk.lines and now - last_refresh >= REFRESH_SECONDS:
            # read_log judges a log that was never written by the execution's state, and the
            # snapshot we hold grows stale: a task skipped or cancelled before it ran has no log.
            execution = await _refresh(ctx, execution)
            last_refresh = now
        await anyio.sleep(POLL_SECONDS)


async def _refresh(ctx: Context, execution: core_tasks.Execution) -> core_tasks.Execution:
    e = execution
    try:
        return await anyio.to_thread.run_sync(
            tasks.get, ctx, e.namespace, e.pipeline, e.run, e.task, e.attempt
        )
    except errors.HostlerError:
        return execution  # the next read reports a lasting failure


def response(
    ctx: Context, execution: core_tasks.Execution, offset: int, request: fastapi.Request
) -> fastapi.responses.StreamingResponse:
    """Return the streaming response that follows ``execution``'s log from ``offset``."""
    return streaming(follow(ctx, execution, offset, request))


def streaming(events: AsyncIterator[str]) -> fastapi.responses.StreamingResponse:
    """Return a ``text/event-stream`` response of ``events``, kept from caches and proxy buffers."""
    return fastapi.responses.StreamingResponse(
        events,
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
