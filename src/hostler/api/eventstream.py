"""Following the event log as Server-Sent Events: events after an id, then new ones as they come.

Each event goes out as ``id: <event id>``, ``event: <kind>`` and ``data: <the event's JSON>``. A
client that reconnects with ``Last-Event-ID`` therefore resumes right after the last event it
received: the store hands out ids in commit order and never reuses one, so nothing is missed and
nothing is sent twice. The store is synchronous, so every read runs in a worker thread; while
nothing new comes, the stream asks again every ``POLL_SECONDS`` and sends a keep-alive comment
every ``KEEP_ALIVE_SECONDS``. The log has no end: the stream stops when the client goes away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import anyio.to_thread
import fastapi

from hostler.api import logstream, schemas
from hostler.core import errors
from hostler.core import events as core_events
from hostler.services import events, pages
from hostler.services.context import Context

_log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
"""How often the store is asked for new events while there are none."""
KEEP_ALIVE_SECONDS = 15.0
"""Longest silence before a keep-alive comment."""
BATCH = pages.MAX_LIMIT
"""Events read from the store at once."""


async def follow(
    ctx: Context, selected: core_events.Filter, last_id: int, request: fastapi.Request
) -> AsyncIterator[str]:
    """Yield the SSE events of the events that pass ``selected`` after the id ``last_id``.

    Runs until the client disconnects, or until the store cannot be read (logged); the client
    then resumes with ``Last-Event-ID``.
    """
    last_sent = time.monotonic()
    while True:
        try:
            found = await anyio.to_thread.run_sync(events.after, ctx, selected, last_id, BATCH)
        except errors.HostlerError as exc:
            _log.warning(
                "event follow stopped: the event log cannot be read", extra={"error": exc.message}
            )
            return
        for event in found:
            wire = schemas.Event.from_entity(event)
            yield logstream.event(event.kind, wire.model_dump_json(), event.id)
        if found:
            last_id, last_sent = found[-1].id, time.monotonic()
            if len(found) == BATCH:
                continue  # more may be waiting; read on before sleeping
        if await request.is_disconnected():
            return
        now = time.monotonic()
        if now - last_sent >= KEEP_ALIVE_SECONDS:
            yield logstream.KEEP_ALIVE
            last_sent = now
        await anyio.sleep(POLL_SECONDS)


def response(
    ctx: Context, selected: core_events.Filter, last_id: int, request: fastapi.Request
) -> fastapi.responses.StreamingResponse:
    """Return the streaming response that follows the events after ``last_id``."""
    return logstream.streaming(follow(ctx, selected, last_id, request))
