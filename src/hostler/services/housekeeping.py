"""Housekeeping: the periodic work that keeps the stored state within its limits.

Events older than ``events.retention`` are deleted, and so are the task logs of runs older than
the newest ``logs.keep_runs`` of each pipeline, and the run tokens a stopped server left behind.
``Housekeeper`` does it in a daemon thread, once at start and then every ``interval`` seconds; a
failed round is logged and tried again at the next one.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging

from hostler.core import errors, runs
from hostler.services import pages, periodic, tokens
from hostler.services import runs as run_service
from hostler.services.context import Context

_log = logging.getLogger(__name__)

INTERVAL_SECONDS = 300.0
"""Seconds between two rounds of housekeeping."""


def prune_events(ctx: Context, retention: float | None) -> int:
    """Delete the events older than ``retention`` seconds (None: keep them all); return how many."""
    if retention is None:
        return 0
    return ctx.store.delete_events(ctx.clock() - datetime.timedelta(seconds=retention))


def prune_logs(ctx: Context, keep_runs: int) -> int:
    """Delete the logs of complete runs beyond the newest ``keep_runs`` of each pipeline (0: keep
    all); return how many runs lost their logs."""
    if keep_runs <= 0:
        return 0
    pruned = 0
    for namespace in pages.every(ctx.store.list_namespaces, lambda x: x.name):
        ns = namespace.name
        for pipeline in pages.every(
            functools.partial(ctx.store.list_pipelines, ns), lambda p: p.id
        ):
            newest_first = pages.every(
                functools.partial(ctx.store.list_runs, ns, pipeline.id), lambda r: r.id
            )
            for index, run in enumerate(newest_first):
                done = run.state is runs.State.COMPLETE and run.logs_deleted is None
                if index >= keep_runs and done:
                    run_service.delete_logs(ctx, ns, pipeline.id, run.id)
                    pruned += 1
    return pruned


def prune_run_tokens(ctx: Context) -> int:
    """Delete the run tokens whose run has ended (the engine deletes them as tasks and runs end;
    this catches those a stopped server left); return how many."""
    pruned = 0
    for token in pages.every(ctx.store.list_run_tokens, lambda t: t.name):
        assert token.run is not None
        if tokens.run_ended(ctx, token.run):
            with contextlib.suppress(errors.NotFound):
                ctx.store.delete_token(token.id)
                pruned += 1
    return pruned


class Housekeeper:
    """Runs housekeeping in a daemon thread between ``start`` and ``stop``."""

    def __init__(
        self,
        ctx: Context,
        *,
        retention: float | None,
        keep_runs: int = 0,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self._ctx = ctx
        self._retention = retention
        self._keep_runs = keep_runs
        self._thread = periodic.Periodic("hostler-housekeeping", interval, self.run_once)

    def start(self) -> None:
        """Start the thread; its first round runs at once."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for a round in progress to finish."""
        self._thread.stop()

    def run_once(self) -> None:
        """Do one round of housekeeping; log a failure instead of raising it."""
        try:
            pruned = prune_events(self._ctx, self._retention)
        except errors.HostlerError as exc:
            _log.warning("event pruning failed", extra={"error": exc.message})
        else:
            if pruned:
                _log.info("old events deleted", extra={"count": pruned})
        try:
            pruned = prune_run_tokens(self._ctx)
        except errors.HostlerError as exc:
            _log.warning("run token pruning failed", extra={"error": exc.message})
        else:
            if pruned:
                _log.info("run tokens of ended runs deleted", extra={"count": pruned})
        try:
            pruned = prune_logs(self._ctx, self._keep_runs)
        except errors.HostlerError as exc:
            _log.warning("log pruning failed", extra={"error": exc.message})
        else:
            if pruned:
                _log.info("task logs of old runs deleted", extra={"runs": pruned})
