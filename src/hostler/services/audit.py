"""The audit history: every mutating admin operation is recorded around itself.

``recorded`` writes a start record before the operation acts and a finish record after it, with
the outcome (succeeded, unchanged or failed, with the error's message), so that a server that
stops in between leaves a record that ``abandon`` marks ``incomplete`` when it starts again.
Writing history never fails the operation: a record that cannot be written is logged and skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hostler.core import errors, history
from hostler.services import pages
from hostler.services.context import Context

_log = logging.getLogger(__name__)


@dataclasses.dataclass
class Entry:
    """The record of an operation in progress: add to ``detail``; set ``unchanged`` when the
    operation found nothing to do."""

    detail: dict[str, Any]
    unchanged: bool = False


@contextlib.contextmanager
def recorded(
    ctx: Context, kind: str, target: str, detail: Mapping[str, Any] | None = None
) -> Iterator[Entry]:
    """Record the operation run inside the block as ``kind`` on ``target``."""
    entry = Entry(dict(detail or {}))
    started = _start(ctx, kind, target, entry.detail)
    try:
        yield entry
    except errors.HostlerError as exc:
        _finish(ctx, started, history.Outcome.FAILED, entry.detail, exc.message)
        raise
    except BaseException as exc:
        _finish(ctx, started, history.Outcome.FAILED, entry.detail, f"internal error ({exc!r})")
        raise
    outcome = history.Outcome.UNCHANGED if entry.unchanged else history.Outcome.SUCCEEDED
    _finish(ctx, started, outcome, entry.detail, None)


def _start(ctx: Context, kind: str, target: str, detail: dict[str, Any]) -> int | None:
    record = history.Record(0, kind, target, ctx.actor, ctx.instance, ctx.clock(), dict(detail))
    try:
        return ctx.store.start_history(record).id
    except Exception as exc:  # history never fails the operation it records
        _log.warning(
            "audit record not written", extra={"kind": kind, "target": target, "error": str(exc)}
        )
        return None


def _finish(
    ctx: Context,
    record: int | None,
    outcome: history.Outcome,
    detail: dict[str, Any],
    error: str | None,
) -> None:
    if record is None:
        return
    try:
        ctx.store.finish_history(record, ctx.clock(), outcome, detail, error)
    except Exception as exc:  # history never fails the operation it records
        _log.warning(
            "audit record not finished",
            extra={"record": record, "outcome": outcome.value, "error": str(exc)},
        )


def abandon(ctx: Context) -> int:
    """Mark ``incomplete`` what this server instance left unfinished when it stopped; return
    how many records. Called once at start-up, before the server takes requests."""
    try:
        count = ctx.store.abandon_history(ctx.instance, ctx.clock())
    except errors.HostlerError as exc:
        _log.warning("unfinished audit records not marked", extra={"error": exc.message})
        return 0
    if count:
        _log.warning("operations interrupted by a stop marked incomplete", extra={"count": count})
    return count


def list_(
    ctx: Context,
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    kinds: Sequence[str] = (),
    cursor: str | None = None,
    limit: int = pages.DEFAULT_LIMIT,
) -> pages.Page[history.Record]:
    """Return a page of the audit history, newest first."""
    if since is not None and until is not None and until <= since:
        raise errors.InvalidArgument(
            "history: 'until' must be later than 'since'",
            field="until",
            hint="swap the two times, or leave one out",
        )
    selected = history.Filter(since, until, tuple(kinds))
    return pages.page(
        lambda after, n: ctx.store.list_history(selected, after, n),
        cursor,
        limit,
        int,
        lambda record: record.id,
    )
