"""Runs and their task executions in memory, as the ``runs`` and ``executions`` tables keep them.

A run gets its pipeline's next run id and is stored with its executions, or not at all; new
attempts are added together with a compare-and-set on their run. A run's variables are its one
mutable field, so every run returned has a dictionary of its own.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence

from hostler.core import deployments, errors, runs, tasks
from hostler.testing.store import columns
from hostler.testing.store import pipelines as pipeline_table

_RunKey = tuple[str, str, int]
_ExecutionKey = tuple[str, str, int, str, int]
_Before = tuple[runs.State, runs.Status]


class Table:
    """The runs by namespace, pipeline id and run id, and their task executions by run, task and
    attempt; call with the store's lock held."""

    def __init__(self, pipelines: pipeline_table.Table) -> None:
        self._pipelines = pipelines
        self._runs: dict[_RunKey, runs.Run] = {}
        self._executions: dict[_ExecutionKey, tasks.Execution] = {}

    # runs ---------------------------------------------------------------------------------

    def create(
        self, run: runs.Run, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Store a new run with its task executions, giving it the pipeline's next run id."""
        key = (run.namespace, run.pipeline)
        if not self._pipelines.has_version(*key, run.version):
            self._pipelines.require(*key)
            raise errors.NotFound(
                f"version {run.version} of pipeline '{run.namespace}/{run.pipeline}': not found",
                field="version",
            )
        run_id = self._pipelines.next_run(*key)
        stored = _run_times(run).evolve(
            id=run_id,
            revision=1,
            variables=json.loads(json.dumps(run.variables, sort_keys=True)),
        )
        stored_executions = [_execution_times(e).evolve(run=run_id, revision=1) for e in executions]
        # Nothing is written until everything is known to be valid: one transaction.
        self._pipelines.count_run(*key, run_id)
        self._runs[run.namespace, run.pipeline, run_id] = stored
        for e in stored_executions:
            self._executions[_execution_key(e)] = e
        return _copy_run(stored), stored_executions

    def get(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        """Return one run; ``NotFound`` names the namespace or pipeline if that is missing."""
        return _copy_run(self._get(namespace, pipeline, run))

    def list_(
        self,
        namespace: str,
        pipeline: str,
        after: int | None,
        limit: int,
        states: Sequence[runs.State],
        version: int | None,
    ) -> list[runs.Run]:
        """Return the pipeline's runs, newest first, optionally only in ``states`` or of one
        ``version``."""
        found = sorted(
            (
                r
                for (ns, p, _), r in self._runs.items()
                if (ns, p) == (namespace, pipeline)
                and (after is None or r.id < after)
                and (not states or r.state in states)
                and (version is None or r.version == version)
            ),
            key=lambda r: r.id,
            reverse=True,
        )
        found = columns.limited(found, limit)
        if not found:
            self._pipelines.require(namespace, pipeline)
        return [_copy_run(r) for r in found]

    def list_active(self, limit: int) -> list[runs.Run]:
        """Return runs not yet complete across all pipelines, oldest first."""
        active = sorted(
            (r for r in self._runs.values() if r.state is not runs.State.COMPLETE),
            key=lambda r: (r.created, r.namespace, r.pipeline, r.id),
        )
        return [_copy_run(r) for r in columns.limited(active, limit)]

    def count(self, namespace: str, pipeline: str, state: runs.State) -> int:
        """Count the pipeline's runs in ``state``."""
        found = sum(
            1
            for (ns, p, _), r in self._runs.items()
            if (ns, p) == (namespace, pipeline) and r.state is state
        )
        if not found:
            self._pipelines.require(namespace, pipeline)
        return found

    def update(self, run: runs.Run, expected_revision: int) -> tuple[_Before, runs.Run]:
        """Write ``run`` with compare-and-set; return its state and status before, and it after.
        Its key, version, variables and trigger are fixed."""
        changed = _run_times(run)
        current = self._get(run.namespace, run.pipeline, run.id)
        if current.revision != expected_revision:
            raise errors.changed_elsewhere(f"run '{run.ref}'", current.revision, expected_revision)
        stored = current.evolve(
            state=changed.state,
            status=changed.status,
            reason=changed.reason,
            started=changed.started,
            ended=changed.ended,
            cancel_requested=changed.cancel_requested,
            logs_deleted=changed.logs_deleted,
            revision=current.revision + 1,
        )
        self._runs[run.namespace, run.pipeline, run.id] = stored
        return (current.state, current.status), _copy_run(stored)

    def add_attempts(
        self, run: runs.Run, expected_revision: int, executions: Sequence[tasks.Execution]
    ) -> tuple[_Before, runs.Run, list[tasks.Execution]]:
        """Write ``run`` with compare-and-set and add new attempts of its tasks, together; return
        the run's state and status before, and the run and the attempts as stored."""
        self._get(run.namespace, run.pipeline, run.id)
        added = [_execution_times(e).evolve(run=run.id, revision=1) for e in executions]
        for e in added:
            if _execution_key(e) in self._executions:
                name = _name(e.namespace, e.pipeline, e.run, e.task, e.attempt)
                raise errors.AlreadyExists(f"{name}: already exists", field="attempt")
        before, stored = self.update(run, expected_revision)
        for e in added:
            self._executions[_execution_key(e)] = e
        return before, stored, added

    def tally(
        self, namespace: str, pipeline: str, first_run: int, last_run: int | None
    ) -> list[deployments.Tally]:
        """Count the runs with ids from ``first_run`` to ``last_run`` (None: the newest) by
        version, in version order."""
        counts: dict[int, dict[runs.Status, int]] = {}
        for (ns, p, run_id), r in self._runs.items():
            if (ns, p) != (namespace, pipeline) or run_id < first_run:
                continue
            if last_run is not None and run_id > last_run:
                continue
            by_status = counts.setdefault(r.version, {})
            by_status[r.status] = by_status.get(r.status, 0) + 1
        if not counts:
            self._pipelines.require(namespace, pipeline)
        return [_tally(version, counts[version]) for version in sorted(counts)]

    def _get(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        found = self._runs.get((namespace, pipeline, run))
        if found is None:
            self._pipelines.require(namespace, pipeline)
            raise errors.NotFound(
                f"run '{namespace}/{pipeline}#{run}': not found "
                f"(pipeline '{namespace}/{pipeline}' exists)",
                field="run",
                hint="list the pipeline's runs to see which exist",
            )
        return found

    # task executions ----------------------------------------------------------------------

    def get_execution(
        self, namespace: str, pipeline: str, run: int, task: str, attempt: int | None
    ) -> tasks.Execution:
        """Return a task execution; the latest attempt when ``attempt`` is None."""
        if attempt is None:
            attempts = [
                e
                for (ns, p, r, t, _), e in self._executions.items()
                if (ns, p, r, t) == (namespace, pipeline, run, task)
            ]
            found = max(attempts, key=lambda e: e.attempt, default=None)
        else:
            found = self._executions.get((namespace, pipeline, run, task, attempt))
        if found is None:
            self._get(namespace, pipeline, run)
            raise errors.NotFound(
                f"{_name(namespace, pipeline, run, task, attempt)}: not found",
                field="task",
                hint="list the run's task executions to see which exist",
            )
        return found

    def list_executions(self, namespace: str, pipeline: str, run: int) -> list[tasks.Execution]:
        """Return every attempt of every task of the run, in pipeline order then attempt."""
        found = sorted(
            (
                e
                for (ns, p, r, _, _), e in self._executions.items()
                if (ns, p, r) == (namespace, pipeline, run)
            ),
            key=lambda e: (e.position, e.task, e.attempt),
        )
        if not found:
            self._get(namespace, pipeline, run)
        return found

    def list_active_executions(self, limit: int) -> list[tasks.Execution]:
        """Return task executions not yet complete across all runs, oldest first."""
        active = sorted(
            (e for e in self._executions.values() if e.state is not tasks.State.COMPLETE),
            # The SQL store's order; ``task`` only breaks ties it leaves open.
            key=lambda e: (
                e.created,
                e.namespace,
                e.pipeline,
                e.run,
                e.position,
                e.attempt,
                e.task,
            ),
        )
        return columns.limited(active, limit)

    def count_executions(self, states: Sequence[tasks.State]) -> int:
        """Count task executions in ``states`` across all runs."""
        return sum(1 for e in self._executions.values() if e.state in states)

    def update_execution(
        self, execution: tasks.Execution, expected_revision: int
    ) -> tuple[tuple[tasks.State, tasks.Status], tasks.Execution]:
        """Write ``execution`` with compare-and-set; return its state and status before, and it
        after. Its key, position and creation are fixed."""
        e = _execution_times(execution)
        key = _execution_key(e)
        current = self._executions.get(key)
        name = _name(e.namespace, e.pipeline, e.run, e.task, e.attempt)
        if current is None:
            self._get(e.namespace, e.pipeline, e.run)
            raise errors.NotFound(f"{name}: not found", field="task")
        if current.revision != expected_revision:
            raise errors.changed_elsewhere(name, current.revision, expected_revision)
        stored = current.evolve(
            state=e.state,
            status=e.status,
            reason=e.reason,
            queued=e.queued,
            started=e.started,
            ended=e.ended,
            exit_code=e.exit_code,
            container=e.container,
            image_digest=e.image_digest,
            lease_owner=e.lease_owner,
            lease_expires=e.lease_expires,
            revision=current.revision + 1,
        )
        self._executions[key] = stored
        return (current.state, current.status), stored

    def renew_leases(self, owner: str, until: datetime.datetime) -> int:
        """Extend ``owner``'s leases on starting and running executions; revisions stay."""
        held = (tasks.State.STARTING, tasks.State.RUNNING)
        renewed = [
            key for key, e in self._executions.items() if e.lease_owner == owner and e.state in held
        ]
        for key in renewed:
            self._executions[key] = self._executions[key].evolve(lease_expires=columns.utc(until))
        return len(renewed)


def _run_times(run: runs.Run) -> runs.Run:
    return run.evolve(
        created=columns.utc(run.created),
        started=columns.maybe_utc(run.started),
        ended=columns.maybe_utc(run.ended),
        logs_deleted=columns.maybe_utc(run.logs_deleted),
    )


def _execution_times(e: tasks.Execution) -> tasks.Execution:
    return e.evolve(
        created=columns.utc(e.created),
        queued=columns.maybe_utc(e.queued),
        started=columns.maybe_utc(e.started),
        ended=columns.maybe_utc(e.ended),
        lease_expires=columns.maybe_utc(e.lease_expires),
    )


def _copy_run(run: runs.Run) -> runs.Run:
    """Return ``run`` with a variables dictionary of its own (the one mutable field)."""
    return run.evolve(variables=dict(run.variables))


def _tally(version: int, counts: dict[runs.Status, int]) -> deployments.Tally:
    """Return the tally of ``version`` from its number of runs by status, as the SQL store."""
    return deployments.Tally(
        version=version,
        runs=sum(counts.values()),
        successful=counts.get(runs.Status.SUCCESSFUL, 0),
        failed=counts.get(runs.Status.FAILED, 0),
        cancelled=counts.get(runs.Status.CANCELLED, 0),
    )


def _execution_key(e: tasks.Execution) -> _ExecutionKey:
    return (e.namespace, e.pipeline, e.run, e.task, e.attempt)


def _name(namespace: str, pipeline: str, run: int, task: str, attempt: int | None) -> str:
    name = f"task '{namespace}/{pipeline}#{run}/{task}'"
    return name if attempt is None else f"{name} (attempt {attempt})"
