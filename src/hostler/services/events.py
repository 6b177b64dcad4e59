"""Use cases for the event log: list a page of events, and read what came after an id.

Both take their filter through ``select``, which refuses an unknown kind before any reading, so
a bad filter is an error for the caller and never a silently empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from hostler.core import errors, events
from hostler.services import pages
from hostler.services.context import Context


def select(
    kinds: Iterable[str] = (),
    namespace: str | None = None,
    pipeline: str | None = None,
    run: int | None = None,
) -> events.Filter:
    """Return the filter of these fields; InvalidArgument (field ``kind``) for an unknown kind."""
    return events.Filter(events.check_kinds(kinds), namespace, pipeline, run)


def list_(
    ctx: Context, selected: events.Filter, cursor: str | None, limit: int
) -> pages.Page[events.Event]:
    """Return a page of the events that pass ``selected``, oldest first."""
    return pages.page(
        lambda after, n: ctx.store.list_events(selected, after, n),
        cursor,
        limit,
        int,
        lambda e: e.id,
    )


def after(ctx: Context, selected: events.Filter, last_id: int, limit: int) -> list[events.Event]:
    """Return at most ``limit`` events that pass ``selected`` with an id above ``last_id``.

    A follower calls this again and again with the id of the last event it received, and so
    receives every event once, in order.
    """
    if last_id < 0:
        raise errors.InvalidArgument(
            f"after: {last_id} is not an event id",
            field="after",
            hint="pass 0 for the oldest event kept, or the id of the last event received",
        )
    return ctx.store.list_events(selected, last_id, pages.check_limit(limit))
