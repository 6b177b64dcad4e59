"""MemoryStore: ``ports.Store`` in dictionaries under a lock, for unit tests above the store.

It keeps the SQL store's promises (``hostler.storage.store``) so that a test written against it
holds on the real database: the same error categories, fields, hints and messages (the missing
parent named first), compare-and-set on ``revision``, run, version and deployment ids counted per
pipeline, list orders and ``after`` cursors, timestamps refused when naive and read back in UTC,
the same events appended in the same cases, with ids that are never reused, history record ids
that are never reused either, canary routing counted in the same steps, locks that expire at the
same instant, and tokens, roles and secrets read back as the SQL store reads them from their
columns.
The storage tests run against both to prove it (``tests/unit/storage``).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from hostler.core import (
    access,
    deployments,
    errors,
    events,
    history,
    namespaces,
    pipelines,
    runs,
    secrets,
    tasks,
    tokens,
)

DEFAULT_DESCRIPTION = "The default namespace"
"""The description of ``default``, which exists from the start as after the first migration."""

_RETRY = "read it again and retry"
_T = TypeVar("_T")
_Key = tuple[str, str]
_RunKey = tuple[str, str, int]
_ExecutionKey = tuple[str, str, int, str, int]


@dataclasses.dataclass(frozen=True)
class _StoredVersion:
    """A version as the SQL store keeps it: the configuration as its canonical JSON text."""

    digest: str
    config: str
    created: datetime.datetime


@dataclasses.dataclass(frozen=True)
class _Lock:
    """A named lock as the ``locks`` table keeps it."""

    holder: str
    acquired: datetime.datetime
    expires: datetime.datetime


class MemoryStore:
    """Hostler's state in memory; implements ``hostler.core.ports.Store``.

    For unit tests of the layers above the store port (services, engine, API), never for a server.

    Safe to share between threads: every method is one critical section, as every SQL store
    method is one transaction, and a method that fails changes nothing. What it returns are
    immutable snapshots or copies; changing them does not change what is stored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        created = datetime.datetime.now(datetime.UTC)
        self._namespaces = {
            "default": namespaces.Namespace("default", DEFAULT_DESCRIPTION, created)
        }
        self._pipelines: dict[_Key, pipelines.Pipeline] = {}
        self._run_counters: dict[_Key, int] = {}
        self._versions: dict[_Key, dict[int, _StoredVersion]] = {}
        self._runs: dict[_RunKey, runs.Run] = {}
        self._executions: dict[_ExecutionKey, tasks.Execution] = {}
        self._events: list[events.Event] = []
        self._last_event_id = 0
        self._deployments: dict[_Key, dict[int, deployments.Deployment]] = {}
        self._history: dict[int, history.Record] = {}
        self._last_history_id = 0
        self._locks: dict[str, _Lock] = {}
        self._tokens = _Tokens()
        self._roles = _Roles()
        self._secrets = _Secrets()
        self._installation = uuid.uuid4().hex[:12]

    def installation(self) -> str:
        """Return the name of this installation, chosen when the store was made."""
        return self._installation

    # namespaces ---------------------------------------------------------------------------

    def create_namespace(self, namespace: namespaces.Namespace) -> namespaces.Namespace:
        """Create a namespace; ``AlreadyExists`` if the name is taken."""
        with self._lock:
            if namespace.name in self._namespaces:
                raise errors.AlreadyExists(
                    f"namespace '{namespace.name}': already exists",
                    field="namespace",
                    hint="choose another name, or use the namespace that exists",
                )
            stored = dataclasses.replace(namespace, created=_utc(namespace.created))
            self._namespaces[stored.name] = stored
            self._append(events.namespace_created(stored, _now()))
            return stored

    def get_namespace(self, name: str) -> namespaces.Namespace:
        """Return the namespace ``name``; ``NotFound`` if there is none."""
        with self._lock:
            self._require_namespace(name)
            return self._namespaces[name]

    def list_namespaces(self, after: str | None, limit: int) -> list[namespaces.Namespace]:
        """Return at most ``limit`` namespaces ordered by name, after the name ``after``."""
        with self._lock:
            found = sorted(self._namespaces.values(), key=lambda n: n.name)
            return _limit([n for n in found if after is None or n.name > after], limit)

    # pipelines and versions ---------------------------------------------------------------

    def get_pipeline(self, namespace: str, pipeline: str) -> pipelines.Pipeline:
        """Return the pipeline; ``NotFound`` names the namespace if that is what is missing."""
        with self._lock:
            return self._get_pipeline(namespace, pipeline)

    def list_pipelines(
        self, namespace: str, after: str | None, limit: int
    ) -> list[pipelines.Pipeline]:
        """Return the namespace's pipelines ordered by id; ``NotFound`` for a missing namespace."""
        with self._lock:
            found = sorted(
                (p for (ns, _), p in self._pipelines.items() if ns == namespace),
                key=lambda p: p.id,
            )
            found = _limit([p for p in found if after is None or p.id > after], limit)
            if not found:
                self._require_namespace(namespace)
            return found

    def find_version(self, namespace: str, pipeline: str, digest: str) -> pipelines.Version | None:
        """Return the version of the pipeline with ``digest``, or None."""
        with self._lock:
            for number, stored in self._versions.get((namespace, pipeline), {}).items():
                if stored.digest == digest:
                    return _version(namespace, pipeline, number, stored)
            return None

    def create_version(
        self, namespace: str, config: pipelines.Config, digest: str, now: datetime.datetime
    ) -> pipelines.Version:
        """Store ``config`` as the next version of pipeline ``config.id`` (created if new)."""
        with self._lock:
            self._require_namespace(namespace)
            key = (namespace, config.id)
            now = _utc(now)
            versions = self._versions.get(key, {})
            if any(stored.digest == digest for stored in versions.values()):
                raise errors.Conflict(
                    f"pipeline '{namespace}/{config.id}': a version with digest '{digest}' "
                    "was stored at the same time",
                    hint="look the version up by its digest again",
                )
            if key not in self._pipelines:
                self._pipelines[key] = pipelines.Pipeline(
                    namespace, config.id, config.description, None, now, now, revision=1
                )
                self._run_counters[key] = 0
            number = max(versions, default=0) + 1
            stored = _StoredVersion(digest, pipelines.canonical_json(config), now)
            self._versions[key] = {**versions, number: stored}
            version = _version(namespace, config.id, number, stored)
            self._append(events.version_created(version, _now()))
            return version

    def get_version(self, namespace: str, pipeline: str, version: int) -> pipelines.Version:
        """Return one version; ``NotFound`` names the namespace, pipeline or version missing."""
        with self._lock:
            stored = self._versions.get((namespace, pipeline), {}).get(version)
            if stored is None:
                self._require_pipeline(namespace, pipeline)
                raise errors.NotFound(
                    f"version {version} of pipeline '{namespace}/{pipeline}': not found",
                    field="version",
                    hint="list the pipeline's versions to see which exist",
                )
            return _version(namespace, pipeline, version, stored)

    def list_versions(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[pipelines.Version]:
        """Return the pipeline's versions, newest first (``after`` is a version number)."""
        with self._lock:
            versions = self._versions.get((namespace, pipeline), {})
            numbers = sorted((n for n in versions if after is None or n < after), reverse=True)
            found = [_version(namespace, pipeline, n, versions[n]) for n in _limit(numbers, limit)]
            if not found:
                self._require_pipeline(namespace, pipeline)
            return found

    def update_pipeline(
        self, pipeline: pipelines.Pipeline, expected_revision: int
    ) -> pipelines.Pipeline:
        """Write ``pipeline`` (description, live version, updated) with compare-and-set."""
        with self._lock:
            updated_at = _utc(pipeline.updated)
            key = (pipeline.namespace, pipeline.id)
            current = self._get_pipeline(*key)
            if current.revision != expected_revision:
                raise errors.Conflict(
                    f"pipeline '{pipeline.ref}': changed by someone else "
                    f"(revision {current.revision}, expected {expected_revision})",
                    hint=_RETRY,
                )
            stored = dataclasses.replace(
                current,
                description=pipeline.description,
                live_version=pipeline.live_version,
                updated=updated_at,
                revision=current.revision + 1,
            )
            self._pipelines[key] = stored
            self._append(events.pipeline_deployed(current.live_version, stored, _now()))
            return stored

    # deployments --------------------------------------------------------------------------

    def save_deployment(
        self,
        pipeline: pipelines.Pipeline,
        expected_revision: int,
        deployment: deployments.Deployment,
    ) -> tuple[pipelines.Pipeline, deployments.Deployment]:
        """Write ``pipeline`` with compare-and-set and insert (``id`` 0) or replace
        ``deployment``, together; the pipeline's canary follows the deployment's state.

        A new deployment gets the pipeline's next deployment id, its next run id as
        ``first_run`` and a ``routed`` count of 0; a replaced one keeps its ``first_run`` and
        ``routed``. InvalidArgument for a deployment of another pipeline.
        """
        if (deployment.namespace, deployment.pipeline) != (pipeline.namespace, pipeline.id):
            raise errors.InvalidArgument(
                f"deployment of pipeline '{deployment.namespace}/{deployment.pipeline}': "
                f"given with pipeline '{pipeline.ref}'",
                field="deployment",
                hint="save a deployment together with its own pipeline",
            )
        with self._lock:
            key = (pipeline.namespace, pipeline.id)
            current = self._get_pipeline(*key)
            if current.revision != expected_revision:
                raise errors.Conflict(
                    f"pipeline '{pipeline.ref}': changed by someone else "
                    f"(revision {current.revision}, expected {expected_revision})",
                    hint=_RETRY,
                )
            updated_at = _utc(pipeline.updated)
            changed = _deployment_times(deployment)
            saved = self._deployments.get(key, {})
            if changed.id == 0:
                changed = changed.evolve(
                    id=max(saved, default=0) + 1,
                    first_run=self._run_counters[key] + 1,
                    routed=0,
                )
            elif changed.id in saved:
                old = saved[changed.id]
                changed = changed.evolve(first_run=old.first_run, routed=old.routed)
            else:
                raise _deployment_not_found(*key, changed.id)
            canary = changed.id if changed.state is deployments.State.CANARY else None
            stored = dataclasses.replace(
                current,
                description=pipeline.description,
                live_version=pipeline.live_version,
                updated=updated_at,
                revision=current.revision + 1,
                canary=canary,
            )
            self._pipelines[key] = stored
            self._deployments[key] = {**saved, changed.id: changed}
            self._append(events.pipeline_deployed(current.live_version, stored, _now()))
            self._append(events.canary_changed(changed, _now()))
            return stored, changed

    def get_deployment(
        self, namespace: str, pipeline: str, deployment: int
    ) -> deployments.Deployment:
        """Return one deployment; ``NotFound`` names the namespace or pipeline if missing."""
        with self._lock:
            found = self._deployments.get((namespace, pipeline), {}).get(deployment)
            if found is None:
                self._require_pipeline(namespace, pipeline)
                raise _deployment_not_found(namespace, pipeline, deployment)
            return found

    def list_deployments(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[deployments.Deployment]:
        """Return the pipeline's deployments, newest first (``after`` is a deployment id)."""
        with self._lock:
            saved = self._deployments.get((namespace, pipeline), {})
            ids = sorted((i for i in saved if after is None or i < after), reverse=True)
            found = [saved[i] for i in _limit(ids, limit)]
            if not found:
                self._require_pipeline(namespace, pipeline)
            return found

    def list_canaries(self, limit: int) -> list[deployments.Deployment]:
        """Return the deployments in state ``canary`` across all pipelines, oldest first."""
        with self._lock:
            canaries = sorted(
                (
                    d
                    for saved in self._deployments.values()
                    for d in saved.values()
                    if d.state is deployments.State.CANARY
                ),
                key=lambda d: (d.started, d.namespace, d.pipeline, d.id),
            )
            return _limit(canaries, limit)

    def route_run(self, namespace: str, pipeline: str) -> tuple[int, runs.Route]:
        """Return the version a new run of the pipeline takes and why, counting it as routed."""
        with self._lock:
            found = self._get_pipeline(namespace, pipeline)
            if found.live_version is None:
                raise errors.FailedPrecondition(
                    f"pipeline '{found.ref}': has no live version",
                    field="pipeline",
                    hint="deploy a version first with 'hostler pipeline up FILE'",
                )
            saved = self._deployments.get((namespace, pipeline), {})
            canary = None if found.canary is None else saved.get(found.canary)
            if canary is None or canary.state is not deployments.State.CANARY:
                return found.live_version, runs.Route.LIVE
            canary = canary.evolve(routed=canary.routed + 1)
            self._deployments[namespace, pipeline] = {**saved, canary.id: canary}
            if canary.percent is not None and deployments.routes_to_candidate(
                canary.routed, canary.percent
            ):
                return canary.to_version, runs.Route.CANARY
            return found.live_version, runs.Route.LIVE

    def tally_runs(
        self, namespace: str, pipeline: str, first_run: int, last_run: int | None
    ) -> list[deployments.Tally]:
        """Count the runs with ids from ``first_run`` to ``last_run`` (None: the newest) by
        version, in version order."""
        with self._lock:
            counts: dict[int, dict[runs.Status, int]] = {}
            for (ns, p, run_id), r in self._runs.items():
                if (ns, p) != (namespace, pipeline) or run_id < first_run:
                    continue
                if last_run is not None and run_id > last_run:
                    continue
                by_status = counts.setdefault(r.version, {})
                by_status[r.status] = by_status.get(r.status, 0) + 1
            if not counts:
                self._require_pipeline(namespace, pipeline)
            return [_tally(version, counts[version]) for version in sorted(counts)]

    # runs and task executions -------------------------------------------------------------

    def create_run(
        self, run: runs.Run, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Store a new run with its task executions, giving it the pipeline's next run id."""
        tasks.check_of_pipeline(run.namespace, run.pipeline, executions)
        with self._lock:
            key = (run.namespace, run.pipeline)
            if run.version not in self._versions.get(key, {}):
                self._require_pipeline(*key)
                raise errors.NotFound(
                    f"version {run.version} of pipeline '{run.namespace}/{run.pipeline}': "
                    "not found",
                    field="version",
                )
            run_id = self._run_counters[key] + 1
            stored = _run_times(run).evolve(
                id=run_id,
                revision=1,
                variables=json.loads(json.dumps(run.variables, sort_keys=True)),
            )
            stored_executions = [
                _execution_times(e).evolve(run=run_id, revision=1) for e in executions
            ]
            # Nothing is written until everything is known to be valid: one transaction.
            self._run_counters[key] = run_id
            self._runs[run.namespace, run.pipeline, run_id] = stored
            for e in stored_executions:
                self._executions[_execution_key(e)] = e
            self._append(events.run_created(stored, _now()))
            return _copy_run(stored), stored_executions

    def get_run(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        """Return one run; ``NotFound`` names the namespace or pipeline if that is missing."""
        with self._lock:
            return _copy_run(self._get_run(namespace, pipeline, run))

    def list_runs(
        self,
        namespace: str,
        pipeline: str,
        after: int | None,
        limit: int,
        states: Sequence[runs.State] = (),
        version: int | None = None,
    ) -> list[runs.Run]:
        """Return the pipeline's runs, newest first, optionally only in ``states`` or of one
        ``version``."""
        with self._lock:
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
            found = _limit(found, limit)
            if not found:
                self._require_pipeline(namespace, pipeline)
            return [_copy_run(r) for r in found]

    def list_active_runs(self, limit: int) -> list[runs.Run]:
        """Return runs not yet complete across all pipelines, oldest first (for the engine)."""
        with self._lock:
            active = sorted(
                (r for r in self._runs.values() if r.state is not runs.State.COMPLETE),
                key=lambda r: (r.created, r.namespace, r.pipeline, r.id),
            )
            return [_copy_run(r) for r in _limit(active, limit)]

    def count_runs(self, namespace: str, pipeline: str, state: runs.State) -> int:
        """Count the pipeline's runs in ``state``."""
        with self._lock:
            found = sum(
                1
                for (ns, p, _), r in self._runs.items()
                if (ns, p) == (namespace, pipeline) and r.state is state
            )
            if not found:
                self._require_pipeline(namespace, pipeline)
            return found

    def update_run(self, run: runs.Run, expected_revision: int) -> runs.Run:
        """Write ``run`` with compare-and-set; its key, version, variables and trigger are fixed."""
        with self._lock:
            return self._update_run(run, expected_revision)

    def add_attempts(
        self, run: runs.Run, expected_revision: int, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Write ``run`` with compare-and-set and add new attempts of its tasks, together."""
        tasks.check_of_pipeline(run.namespace, run.pipeline, executions)
        with self._lock:
            self._get_run(run.namespace, run.pipeline, run.id)
            added = [_execution_times(e).evolve(run=run.id, revision=1) for e in executions]
            for e in added:
                if _execution_key(e) in self._executions:
                    name = _name(e.namespace, e.pipeline, e.run, e.task, e.attempt)
                    raise errors.AlreadyExists(f"{name}: already exists", field="attempt")
            stored = self._update_run(run, expected_revision)
            now = _now()
            for e in added:
                self._executions[_execution_key(e)] = e
                self._append(events.attempt_created(e, now))
            return stored, added

    def _update_run(self, run: runs.Run, expected_revision: int) -> runs.Run:
        """``update_run`` with the lock held."""
        changed = _run_times(run)
        current = self._get_run(run.namespace, run.pipeline, run.id)
        if current.revision != expected_revision:
            raise errors.Conflict(
                f"run '{run.ref}': changed by someone else "
                f"(revision {current.revision}, expected {expected_revision})",
                hint=_RETRY,
            )
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
        self._append(events.run_changed((current.state, current.status), stored, _now()))
        return _copy_run(stored)

    def get_execution(
        self, namespace: str, pipeline: str, run: int, task: str, attempt: int | None = None
    ) -> tasks.Execution:
        """Return a task execution; the latest attempt when ``attempt`` is None."""
        with self._lock:
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
                self._get_run(namespace, pipeline, run)
                raise errors.NotFound(
                    f"{_name(namespace, pipeline, run, task, attempt)}: not found",
                    field="task",
                    hint="list the run's task executions to see which exist",
                )
            return found

    def list_executions(self, namespace: str, pipeline: str, run: int) -> list[tasks.Execution]:
        """Return every attempt of every task of the run, in pipeline order then attempt."""
        with self._lock:
            found = sorted(
                (
                    e
                    for (ns, p, r, _, _), e in self._executions.items()
                    if (ns, p, r) == (namespace, pipeline, run)
                ),
                key=lambda e: (e.position, e.task, e.attempt),
            )
            if not found:
                self._get_run(namespace, pipeline, run)
            return found

    def list_active_executions(self, limit: int) -> list[tasks.Execution]:
        """Return task executions not yet complete across all runs, oldest first."""
        with self._lock:
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
            return _limit(active, limit)

    def count_executions(self, states: Sequence[tasks.State]) -> int:
        """Count task executions in ``states`` across all runs."""
        with self._lock:
            return sum(1 for e in self._executions.values() if e.state in states)

    def update_execution(
        self, execution: tasks.Execution, expected_revision: int
    ) -> tasks.Execution:
        """Write ``execution`` with compare-and-set; its key, position and creation are fixed."""
        with self._lock:
            e = _execution_times(execution)
            key = _execution_key(e)
            current = self._executions.get(key)
            name = _name(e.namespace, e.pipeline, e.run, e.task, e.attempt)
            if current is None:
                self._get_run(e.namespace, e.pipeline, e.run)
                raise errors.NotFound(f"{name}: not found", field="task")
            if current.revision != expected_revision:
                raise errors.Conflict(
                    f"{name}: changed by someone else "
                    f"(revision {current.revision}, expected {expected_revision})",
                    hint=_RETRY,
                )
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
            before = (current.state, current.status)
            self._append(events.execution_changed(before, stored, _now()))
            return stored

    def renew_leases(self, owner: str, until: datetime.datetime) -> int:
        """Extend ``owner``'s leases on starting and running executions; revisions stay."""
        held = (tasks.State.STARTING, tasks.State.RUNNING)
        with self._lock:
            renewed = [
                key
                for key, e in self._executions.items()
                if e.lease_owner == owner and e.state in held
            ]
            for key in renewed:
                self._executions[key] = self._executions[key].evolve(lease_expires=_utc(until))
            return len(renewed)

    # events -------------------------------------------------------------------------------

    def list_events(
        self, selected: events.Filter, after: int | None, limit: int
    ) -> list[events.Event]:
        """Return at most ``limit`` events that pass ``selected``, by id, after the id ``after``."""
        with self._lock:
            found = [
                e for e in self._events if (after is None or e.id > after) and selected.matches(e)
            ]
            return [dataclasses.replace(e, data=_json_copy(e.data)) for e in _limit(found, limit)]

    def delete_events(self, before: datetime.datetime) -> int:
        """Delete the events recorded before ``before``; return how many."""
        before = _utc(before)
        with self._lock:
            kept = [e for e in self._events if e.time >= before]
            deleted = len(self._events) - len(kept)
            self._events = kept
            return deleted

    def _append(self, event: events.Event | None) -> None:
        """Append ``event`` with the next id, as the SQL store does; call with the lock held."""
        if event is None:
            return
        self._last_event_id += 1
        stored = dataclasses.replace(event, id=self._last_event_id, data=_json_copy(event.data))
        self._events.append(stored)

    # audit history --------------------------------------------------------------------------

    def start_history(self, record: history.Record) -> history.Record:
        """Store ``record`` (its ``id`` ignored) and return it as stored, with its id."""
        with self._lock:
            stored = record.evolve(
                started=_utc(record.started),
                finished=_maybe_utc(record.finished),
                detail=_json_copy(record.detail),
            )
            self._last_history_id += 1
            stored = stored.evolve(id=self._last_history_id)
            self._history[stored.id] = stored
            return _copy_record(stored)

    def finish_history(
        self,
        record: int,
        finished: datetime.datetime,
        outcome: history.Outcome,
        detail: Mapping[str, Any],
        error: str | None,
    ) -> None:
        """Finish a started record, adding ``detail`` to the detail it started with (a key
        given again takes the new value); NotFound when there is none, FailedPrecondition when
        it has finished already."""
        with self._lock:
            current = self._history.get(record)
            if current is None:
                raise errors.NotFound(
                    f"history record {record}: not found",
                    field="record",
                    hint="finish the record that starting the operation returned",
                )
            if current.outcome is not None:
                raise errors.FailedPrecondition(
                    f"history record {record}: finished already",
                    field="record",
                    hint="finish each record once",
                )
            self._history[record] = current.evolve(
                finished=_utc(finished),
                outcome=outcome,
                detail=_json_copy({**current.detail, **detail}),
                error=error,
            )

    def list_history(
        self, selected: history.Filter, after: int | None, limit: int
    ) -> list[history.Record]:
        """Return the records that pass ``selected``, newest first (``after`` is a record id)."""
        selected = dataclasses.replace(
            selected, since=_maybe_utc(selected.since), until=_maybe_utc(selected.until)
        )
        with self._lock:
            ids = sorted(
                (
                    i
                    for i, r in self._history.items()
                    if (after is None or i < after) and selected.matches(r)
                ),
                reverse=True,
            )
            return [_copy_record(self._history[i]) for i in _limit(ids, limit)]

    def abandon_history(self, instance: str, finished: datetime.datetime) -> int:
        """Mark ``incomplete`` the unfinished records of server ``instance``; return how many."""
        finished = _utc(finished)
        with self._lock:
            abandoned = [
                i for i, r in self._history.items() if r.instance == instance and r.outcome is None
            ]
            for i in abandoned:
                self._history[i] = self._history[i].evolve(
                    outcome=history.Outcome.INCOMPLETE, finished=finished
                )
            return len(abandoned)

    # tokens and roles: kept in ``_Tokens`` and ``_Roles`` -----------------------------------

    def create_token(self, token: tokens.Token) -> tokens.Token:
        """Store a new token at revision 1; ``AlreadyExists`` if its name (or id) is taken."""
        with self._lock:
            return self._tokens.create(token)

    def get_token(self, token: str) -> tokens.Token:
        """Return the token with id ``token``; ``NotFound`` if there is none."""
        with self._lock:
            return self._tokens.get(token)

    def list_tokens(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return at most ``limit`` tokens ordered by name, after the name ``after``."""
        with self._lock:
            return self._tokens.list_(after, limit)

    def update_token(self, token: tokens.Token, expected_revision: int) -> tokens.Token:
        """Write the token's roles, expiry and disabled flag with compare-and-set; its name,
        digest, creation and creator stay as stored."""
        with self._lock:
            return self._tokens.update(token, expected_revision)

    def delete_token(self, token: str) -> None:
        """Delete the token with id ``token``; ``NotFound`` if there is none."""
        with self._lock:
            self._tokens.delete(token)

    def create_role(self, role: access.Role) -> access.Role:
        """Store a new role; ``AlreadyExists`` if its name is taken. Returned as stored:
        ``builtin`` is not kept."""
        with self._lock:
            return self._roles.create(role)

    def get_role(self, name: str) -> access.Role:
        """Return the role ``name``; ``NotFound`` if there is none."""
        with self._lock:
            return self._roles.get(name)

    def list_roles(self, after: str | None, limit: int) -> list[access.Role]:
        """Return at most ``limit`` roles ordered by name, after the name ``after``."""
        with self._lock:
            return self._roles.list_(after, limit)

    def delete_role(self, name: str) -> None:
        """Delete the role ``name``; ``NotFound`` if there is none."""
        with self._lock:
            self._roles.delete(name)

    # secrets: kept in ``_Secrets``; the pipeline of a pipeline's secret is checked here --------

    def put_secret(self, secret: secrets.Secret) -> secrets.Secret:
        """Store ``secret``, replacing one of that name in that place (which keeps its
        ``created`` and counts its revision up); return it as stored. NotFound when its pipeline
        does not exist; InvalidArgument when only one of its namespace and pipeline is given."""
        with self._lock:
            place = _place(secret.namespace, secret.pipeline)
            if secret.namespace is not None and secret.pipeline is not None:
                self._require_pipeline(secret.namespace, secret.pipeline)
            return self._secrets.put(place, secret)

    def get_secret(self, namespace: str | None, pipeline: str | None, name: str) -> secrets.Secret:
        """Return one secret; NotFound names the namespace or pipeline if that is missing."""
        with self._lock:
            found = self._secrets.get(_place(namespace, pipeline), name)
            if found is None:
                raise self._secret_not_found(namespace, pipeline, name)
            return found

    def list_secrets(
        self, namespace: str | None, pipeline: str | None, after: str | None, limit: int
    ) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets of a pipeline (or the global ones) ordered by name,
        after the name ``after``."""
        with self._lock:
            found = self._secrets.list_(_place(namespace, pipeline), after, limit)
            if not found and namespace is not None and pipeline is not None:
                self._require_pipeline(namespace, pipeline)
            return found

    def delete_secret(self, namespace: str | None, pipeline: str | None, name: str) -> None:
        """Delete one secret; NotFound if there is none."""
        with self._lock:
            if not self._secrets.delete(_place(namespace, pipeline), name):
                raise self._secret_not_found(namespace, pipeline, name)

    def list_secrets_not_under(self, key: str, limit: int) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets, of any place, encrypted under another key than
        ``key``: the global ones first, then the pipelines' by place and name."""
        with self._lock:
            return self._secrets.list_not_under(key, limit)

    def _secret_not_found(
        self, namespace: str | None, pipeline: str | None, name: str
    ) -> errors.NotFound:
        if namespace is None or pipeline is None:
            subject = f"global secret '{name}'"
        else:
            self._require_pipeline(namespace, pipeline)
            subject = f"secret '{name}' of pipeline '{namespace}/{pipeline}'"
        return errors.NotFound(
            f"{subject}: not found", field="secret", hint="list the secrets to see which exist"
        )

    # locks --------------------------------------------------------------------------------

    def acquire_lock(
        self, name: str, holder: str, now: datetime.datetime, expires: datetime.datetime
    ) -> str | None:
        """Take the lock ``name`` for ``holder`` until ``expires`` unless someone else holds it
        unexpired at ``now``; return None when taken, else the current holder."""
        now, expires = _utc(now), _utc(expires)
        with self._lock:
            current = self._locks.get(name)
            if current is not None and current.holder != holder and current.expires > now:
                return current.holder
            self._locks[name] = _Lock(holder, now, expires)
            return None

    def release_lock(self, name: str, holder: str) -> None:
        """Release the lock ``name`` if ``holder`` holds it; nothing otherwise."""
        with self._lock:
            current = self._locks.get(name)
            if current is not None and current.holder == holder:
                del self._locks[name]

    def close(self) -> None:
        """Do nothing: there are no connections to release."""

    # lookups that raise NotFound naming what is missing; call with the lock held ------------

    def _require_namespace(self, name: str) -> None:
        if name not in self._namespaces:
            raise errors.NotFound(
                f"namespace '{name}': not found",
                field="namespace",
                hint="check the name, or create the namespace first",
            )

    def _get_pipeline(self, namespace: str, pipeline: str) -> pipelines.Pipeline:
        found = self._pipelines.get((namespace, pipeline))
        if found is None:
            self._require_namespace(namespace)
            raise errors.NotFound(
                f"pipeline '{namespace}/{pipeline}': not found",
                field="pipeline",
                hint="check the name, or register the pipeline first",
            )
        return found

    def _require_pipeline(self, namespace: str, pipeline: str) -> None:
        self._get_pipeline(namespace, pipeline)

    def _get_run(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        found = self._runs.get((namespace, pipeline, run))
        if found is None:
            self._require_pipeline(namespace, pipeline)
            raise errors.NotFound(
                f"run '{namespace}/{pipeline}#{run}': not found "
                f"(pipeline '{namespace}/{pipeline}' exists)",
                field="run",
                hint="list the pipeline's runs to see which exist",
            )
        return found


class _Tokens:
    """The tokens by id, as the ``tokens`` table keeps them; call with the store's lock held.

    The checks run in the SQL store's order, so that a call that breaks two rules fails alike.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, tokens.Token] = {}

    def create(self, token: tokens.Token) -> tokens.Token:
        if any(t.name == token.name for t in self._by_id.values()):
            raise errors.AlreadyExists(
                f"token '{token.name}': already exists",
                field="name",
                hint="choose another name, or delete the old token first",
            )
        if token.id in self._by_id:
            raise errors.AlreadyExists(
                f"token '{token.id}': already exists",
                field="token",
                hint="make the token again: it gets a new random id",
            )
        stored = token.evolve(
            roles=_roles_copy(token.roles),
            created=_utc(token.created),
            expires=_maybe_utc(token.expires),
            revision=1,
        )
        self._by_id[stored.id] = stored
        return stored

    def get(self, token: str) -> tokens.Token:
        found = self._by_id.get(token)
        if found is None:
            raise _token_not_found(token)
        return found

    def list_(self, after: str | None, limit: int) -> list[tokens.Token]:
        found = sorted(self._by_id.values(), key=lambda t: t.name)
        return _limit([t for t in found if after is None or t.name > after], limit)

    def update(self, token: tokens.Token, expected_revision: int) -> tokens.Token:
        # The SQL store binds the expiry before it looks at the row: a naive one fails first.
        expires = _maybe_utc(token.expires)
        current = self.get(token.id)
        if current.revision != expected_revision:
            raise errors.Conflict(
                f"token '{token.id}': changed by someone else "
                f"(revision {current.revision}, expected {expected_revision})",
                hint=_RETRY,
            )
        stored = current.evolve(
            roles=_roles_copy(token.roles),
            expires=expires,
            disabled=token.disabled,
            revision=current.revision + 1,
        )
        self._by_id[stored.id] = stored
        return stored

    def delete(self, token: str) -> None:
        if self._by_id.pop(token, None) is None:
            raise _token_not_found(token)


class _Roles:
    """The roles admins made, by name, as the ``roles`` table keeps them; call with the store's
    lock held."""

    def __init__(self) -> None:
        self._by_name: dict[str, access.Role] = {}

    def create(self, role: access.Role) -> access.Role:
        if role.name in self._by_name:
            raise errors.AlreadyExists(
                f"role '{role.name}': already exists",
                field="name",
                hint="choose another name, or delete the role first",
            )
        # As the SQL store reads it back from JSON: enum members, a tuple, no ``builtin``.
        grants = tuple(
            access.Grant(
                frozenset(map(access.Kind, g.kinds)),
                frozenset(map(access.Action, g.actions)),
                g.pattern,
            )
            for g in role.grants
        )
        stored = access.Role(role.name, role.description, grants)
        self._by_name[stored.name] = stored
        return stored

    def get(self, name: str) -> access.Role:
        found = self._by_name.get(name)
        if found is None:
            raise _role_not_found(name)
        return found

    def list_(self, after: str | None, limit: int) -> list[access.Role]:
        found = sorted(self._by_name.values(), key=lambda r: r.name)
        return _limit([r for r in found if after is None or r.name > after], limit)

    def delete(self, name: str) -> None:
        if self._by_name.pop(name, None) is None:
            raise _role_not_found(name)


class _Secrets:
    """The secrets by place (``''`` for the global ones, ``NAMESPACE/PIPELINE``) and name, as the
    ``secrets`` table keeps them; call with the store's lock held."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], secrets.Secret] = {}

    def put(self, place: str, secret: secrets.Secret) -> secrets.Secret:
        # The SQL store binds the update time first and the creation time only to insert.
        updated = _utc(secret.updated)
        current = self._by_key.get((place, secret.name))
        if current is None:
            created, revision = _utc(secret.created), 1
        else:
            created, revision = current.created, current.revision + 1
        # As the SQL store reads it back: bytes, a tuple of patterns of its own.
        stored = secret.evolve(
            ciphertext=bytes(secret.ciphertext),
            namespaces=_strings_copy(secret.namespaces),
            created=created,
            updated=updated,
            revision=revision,
        )
        self._by_key[place, secret.name] = stored
        return stored

    def get(self, place: str, name: str) -> secrets.Secret | None:
        return self._by_key.get((place, name))

    def list_(self, place: str, after: str | None, limit: int) -> list[secrets.Secret]:
        found = sorted((s for (p, _), s in self._by_key.items() if p == place), key=_by_name)
        return _limit([s for s in found if after is None or s.name > after], limit)

    def list_not_under(self, key: str, limit: int) -> list[secrets.Secret]:
        # Ordered by (place, name) as the SQL store orders them.
        places = sorted(k for k, s in self._by_key.items() if s.key != key)
        return _limit([self._by_key[k] for k in places], limit)

    def delete(self, place: str, name: str) -> bool:
        return self._by_key.pop((place, name), None) is not None


def _place(namespace: str | None, pipeline: str | None) -> str:
    """Return the place of a secret as the SQL store keys it; InvalidArgument as it raises."""
    if namespace is None and pipeline is None:
        return ""
    if namespace is None or pipeline is None:
        quoted = ["none" if v is None else f"'{v}'" for v in (namespace, pipeline)]
        raise errors.InvalidArgument(
            f"secrets: namespace {quoted[0]} with pipeline {quoted[1]}: not a place",
            field="namespace" if namespace is None else "pipeline",
            hint="give both a namespace and a pipeline for a pipeline's secrets, "
            "neither for the global ones",
        )
    return f"{namespace}/{pipeline}"


def _by_name(secret: secrets.Secret) -> str:
    return secret.name


def _token_not_found(token: str) -> errors.NotFound:
    return errors.NotFound(
        f"token '{token}': not found", field="token", hint="list the tokens to see which exist"
    )


def _role_not_found(name: str) -> errors.NotFound:
    return errors.NotFound(
        f"role '{name}': not found", field="role", hint="list the roles to see which exist"
    )


def _roles_copy(roles: Sequence[str]) -> tuple[str, ...]:
    """Return ``roles`` as the SQL store reads them back from their JSON list: a tuple."""
    return _strings_copy(roles)


def _strings_copy(strings: Sequence[str]) -> tuple[str, ...]:
    """Return ``strings`` as the SQL store reads them back from a JSON list: a tuple."""
    copy: list[str] = json.loads(json.dumps(list(strings)))
    return tuple(copy)


def _now() -> datetime.datetime:
    """Return the time an event is recorded at."""
    return datetime.datetime.now(datetime.UTC)


def _json_copy(data: Mapping[str, object]) -> dict[str, object]:
    """Return ``data`` as the SQL store reads it back from its JSON text: a copy of its own."""
    copy: dict[str, object] = json.loads(json.dumps(data))
    return copy


def _limit(items: list[_T], limit: int) -> list[_T]:
    # A negative LIMIT is no limit on SQLite, the SQL store's default database.
    return items[:limit] if limit >= 0 else items


def _utc(value: datetime.datetime) -> datetime.datetime:
    """Return ``value`` in UTC; refuse a naive one as the SQL store's timestamp columns do."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise errors.Internal(f"database: timestamp {value.isoformat()} has no time zone")
    return value.astimezone(datetime.UTC)


def _maybe_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    return None if value is None else _utc(value)


def _run_times(run: runs.Run) -> runs.Run:
    return run.evolve(
        created=_utc(run.created),
        started=_maybe_utc(run.started),
        ended=_maybe_utc(run.ended),
        logs_deleted=_maybe_utc(run.logs_deleted),
    )


def _execution_times(e: tasks.Execution) -> tasks.Execution:
    return e.evolve(
        created=_utc(e.created),
        queued=_maybe_utc(e.queued),
        started=_maybe_utc(e.started),
        ended=_maybe_utc(e.ended),
        lease_expires=_maybe_utc(e.lease_expires),
    )


def _copy_run(run: runs.Run) -> runs.Run:
    """Return ``run`` with a variables dictionary of its own (the one mutable field)."""
    return run.evolve(variables=dict(run.variables))


def _version(
    namespace: str, pipeline: str, number: int, stored: _StoredVersion
) -> pipelines.Version:
    """Return a version with a configuration of its own, read back from its canonical JSON."""
    config = pipelines.Config.model_validate(json.loads(stored.config))
    return pipelines.Version(namespace, pipeline, number, stored.digest, config, stored.created)


def _deployment_not_found(namespace: str, pipeline: str, deployment: int) -> errors.NotFound:
    return errors.NotFound(
        f"deployment {deployment} of pipeline '{namespace}/{pipeline}': not found",
        field="deployment",
        hint="list the pipeline's deployments to see which exist",
    )


def _deployment_times(d: deployments.Deployment) -> deployments.Deployment:
    return d.evolve(started=_utc(d.started), ended=_maybe_utc(d.ended))


def _tally(version: int, counts: dict[runs.Status, int]) -> deployments.Tally:
    """Return the tally of ``version`` from its number of runs by status, as the SQL store."""
    return deployments.Tally(
        version=version,
        runs=sum(counts.values()),
        successful=counts.get(runs.Status.SUCCESSFUL, 0),
        failed=counts.get(runs.Status.FAILED, 0),
        cancelled=counts.get(runs.Status.CANCELLED, 0),
    )


def _copy_record(record: history.Record) -> history.Record:
    """Return ``record`` with a detail of its own (the one mutable field)."""
    return record.evolve(detail=_json_copy(record.detail))


def _execution_key(e: tasks.Execution) -> _ExecutionKey:
    return (e.namespace, e.pipeline, e.run, e.task, e.attempt)


def _name(namespace: str, pipeline: str, run: int, task: str, attempt: int | None) -> str:
    name = f"task '{namespace}/{pipeline}#{run}/{task}'"
    return name if attempt is None else f"{name} (attempt {attempt})"
