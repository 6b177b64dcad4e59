"""Run tokens: the API token a task with ``inject_api_token`` gets, valid while its run runs.

The engine makes one per task attempt just before the container, and deletes it when the attempt
ends; every run token of a run goes when the run ends. The API refuses a run token whose run has
ended even if deleting it failed (``services.tokens``), and the token's expiry is a last backstop.
"""

from __future__ import annotations

import datetime
import logging

from hostler.core import errors, ports, tasks, tokens

log = logging.getLogger(__name__)

LIFETIME = datetime.timedelta(days=7)
"""The expiry of a run token, should the engine never get to delete it."""


def issue(
    store: ports.Store, execution: tasks.Execution, now: datetime.datetime
) -> tuple[tokens.Token, str]:
    """Make and store a run token for ``execution``; return it and its whole text."""
    run = tokens.RunRef(execution.namespace, execution.pipeline, execution.run)
    token, text = tokens.new(
        "run", (), created=now, created_by="hostler", expires=now + LIFETIME, run=run
    )
    return store.create_token(token.evolve(name=f"{tokens.RUN_NAME_PREFIX}{token.id}")), text


def revoke(store: ports.Store, token: tokens.Token) -> None:
    """Delete a run token; one already gone is fine, a failure is logged (the run's end, and the
    API's check of the run, still stop it)."""
    try:
        store.delete_token(token.id)
    except errors.NotFound:
        pass
    except errors.HostlerError as exc:
        log.warning("run token not deleted", extra={"token": token.name, "error": exc.message})


def revoke_run(store: ports.Store, namespace: str, pipeline: str, run: int) -> None:
    """Delete every run token of a run that has ended."""
    try:
        store.delete_run_tokens(namespace, pipeline, run)
    except errors.HostlerError as exc:
        log.warning(
            "run tokens not deleted",
            extra={"run": f"{namespace}/{pipeline}#{run}", "error": exc.message},
        )
