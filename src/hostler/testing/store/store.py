"""MemoryStore: ``ports.Store`` on the in-memory tables of this package, under one lock.

Every method takes the lock and hands the work to the tables of its concept, as every SQL store
method opens one transaction and hands it to its row modules; the events that writes record are
appended here, in the same cases as the SQL store appends them.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from hostler.core import (
    access,
    deployments,
    events,
    history,
    images,
    namespaces,
    objects,
    pipelines,
    runs,
    secrets,
    subscriptions,
    tasks,
    tokens,
)
from hostler.testing.store import deployments as deployment_table
from hostler.testing.store import events as event_table
from hostler.testing.store import extensions as extension_table
from hostler.testing.store import history as history_table
from hostler.testing.store import locks as lock_table
from hostler.testing.store import namespaces as namespace_table
from hostler.testing.store import objects as object_table
from hostler.testing.store import pipelines as pipeline_table
from hostler.testing.store import roles as role_table
from hostler.testing.store import runs as run_table
from hostler.testing.store import secrets as secret_table
from hostler.testing.store import subscriptions as subscription_table
from hostler.testing.store import tokens as token_table


class MemoryStore:
    """Hostler's state in memory; implements ``hostler.core.ports.Store``.

    For unit tests of the layers above the store port (services, engine, API), never for a server.

    Safe to share between threads: every method is one critical section, as every SQL store
    method is one transaction, and a method that fails changes nothing. What it returns are
    immutable snapshots or copies; changing them does not change what is stored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._namespaces = namespace_table.Table()
        self._pipelines = pipeline_table.Table(self._namespaces)
        self._deployments = deployment_table.Table(self._pipelines)
        self._runs = run_table.Table(self._pipelines)
        self._events = event_table.Table()
        self._history = history_table.Table()
        self._locks = lock_table.Table()
        self._tokens = token_table.Table()
        self._roles = role_table.Table()
        self._secrets = secret_table.Table(self._pipelines)
        self._objects = object_table.Table(self._pipelines, self._runs)
        self._subscriptions = subscription_table.Table(self._pipelines)
        self._extensions = extension_table.Table()
        self._installation = uuid.uuid4().hex[:12]

    def installation(self) -> str:
        """Return the name of this installation, chosen when the store was made."""
        return self._installation

    # namespaces ---------------------------------------------------------------------------

    def create_namespace(self, namespace: namespaces.Namespace) -> namespaces.Namespace:
        """Create a namespace; ``AlreadyExists`` if the name is taken."""
        with self._lock:
            stored = self._namespaces.create(namespace)
            self._events.append(events.namespace_created(stored, _now()))
            return stored

    def get_namespace(self, name: str) -> namespaces.Namespace:
        """Return the namespace ``name``; ``NotFound`` if there is none."""
        with self._lock:
            return self._namespaces.get(name)

    def list_namespaces(self, after: str | None, limit: int) -> list[namespaces.Namespace]:
        """Return at most ``limit`` namespaces ordered by name, after the name ``after``."""
        with self._lock:
            return self._namespaces.list_(after, limit)

    # pipelines and versions ---------------------------------------------------------------

    def get_pipeline(self, namespace: str, pipeline: str) -> pipelines.Pipeline:
        """Return the pipeline; ``NotFound`` names the namespace if that is what is missing."""
        with self._lock:
            return self._pipelines.get(namespace, pipeline)

    def list_pipelines(
        self, namespace: str, after: str | None, limit: int
    ) -> list[pipelines.Pipeline]:
        """Return the namespace's pipelines ordered by id; ``NotFound`` for a missing namespace."""
        with self._lock:
            return self._pipelines.list_(namespace, after, limit)

    def find_version(self, namespace: str, pipeline: str, digest: str) -> pipelines.Version | None:
        """Return the version of the pipeline with ``digest``, or None."""
        with self._lock:
            return self._pipelines.find_version(namespace, pipeline, digest)

    def create_version(
        self, namespace: str, config: pipelines.Config, digest: str, now: datetime.datetime
    ) -> pipelines.Version:
        """Store ``config`` as the next version of pipeline ``config.id`` (created if new)."""
        with self._lock:
            version = self._pipelines.create_version(namespace, config, digest, now)
            self._events.append(events.version_created(version, _now()))
            return version

    def get_version(self, namespace: str, pipeline: str, version: int) -> pipelines.Version:
        """Return one version; ``NotFound`` names the namespace, pipeline or version missing."""
        with self._lock:
            return self._pipelines.get_version(namespace, pipeline, version)

    def list_versions(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[pipelines.Version]:
        """Return the pipeline's versions, newest first (``after`` is a version number)."""
        with self._lock:
            return self._pipelines.list_versions(namespace, pipeline, after, limit)

    def update_pipeline(
        self, pipeline: pipelines.Pipeline, expected_revision: int
    ) -> pipelines.Pipeline:
        """Write ``pipeline`` (description, live version, updated) with compare-and-set."""
        with self._lock:
            before, after = self._pipelines.update(pipeline, expected_revision)
            self._events.append(events.pipeline_deployed(before.live_version, after, _now()))
            return after

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
        with self._lock:
            before, after, saved = self._deployments.save(pipeline, expected_revision, deployment)
            self._events.append(events.pipeline_deployed(before.live_version, after, _now()))
            self._events.append(events.canary_changed(saved, _now()))
            return after, saved

    def get_deployment(
        self, namespace: str, pipeline: str, deployment: int
    ) -> deployments.Deployment:
        """Return one deployment; ``NotFound`` names the namespace or pipeline if missing."""
        with self._lock:
            return self._deployments.get(namespace, pipeline, deployment)

    def list_deployments(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[deployments.Deployment]:
        """Return the pipeline's deployments, newest first (``after`` is a deployment id)."""
        with self._lock:
            return self._deployments.list_(namespace, pipeline, after, limit)

    def list_canaries(self, limit: int) -> list[deployments.Deployment]:
        """Return the deployments in state ``canary`` across all pipelines, oldest first."""
        with self._lock:
            return self._deployments.list_canaries(limit)

    def route_run(self, namespace: str, pipeline: str) -> tuple[int, runs.Route]:
        """Return the version a new run of the pipeline takes and why, counting it as routed."""
        with self._lock:
            return self._deployments.route(namespace, pipeline)

    def tally_runs(
        self, namespace: str, pipeline: str, first_run: int, last_run: int | None
    ) -> list[deployments.Tally]:
        """Count the runs with ids from ``first_run`` to ``last_run`` (None: the newest) by
        version, in version order."""
        with self._lock:
            return self._runs.tally(namespace, pipeline, first_run, last_run)

    # runs and task executions -------------------------------------------------------------

    def create_run(
        self, run: runs.Run, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Store a new run with its task executions, giving it the pipeline's next run id."""
        tasks.check_of_pipeline(run.namespace, run.pipeline, executions)
        with self._lock:
            stored, created = self._runs.create(run, executions)
            self._events.append(events.run_created(stored, _now()))
            return stored, created

    def get_run(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        """Return one run; ``NotFound`` names the namespace or pipeline if that is missing."""
        with self._lock:
            return self._runs.get(namespace, pipeline, run)

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
            return self._runs.list_(namespace, pipeline, after, limit, states, version)

    def list_active_runs(self, limit: int) -> list[runs.Run]:
        """Return runs not yet complete across all pipelines, oldest first (for the engine)."""
        with self._lock:
            return self._runs.list_active(limit)

    def count_runs(self, namespace: str, pipeline: str, state: runs.State) -> int:
        """Count the pipeline's runs in ``state``."""
        with self._lock:
            return self._runs.count(namespace, pipeline, state)

    def update_run(self, run: runs.Run, expected_revision: int) -> runs.Run:
        """Write ``run`` with compare-and-set; its key, version, variables and trigger are fixed."""
        with self._lock:
            before, after = self._runs.update(run, expected_revision)
            self._events.append(events.run_changed(before, after, _now()))
            return after

    def add_attempts(
        self, run: runs.Run, expected_revision: int, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Write ``run`` with compare-and-set and add new attempts of its tasks, together."""
        tasks.check_of_pipeline(run.namespace, run.pipeline, executions)
        with self._lock:
            before, after, added = self._runs.add_attempts(run, expected_revision, executions)
            self._events.append(events.run_changed(before, after, _now()))
            now = _now()
            for execution in added:
                self._events.append(events.attempt_created(execution, now))
            return after, added

    def get_execution(
        self, namespace: str, pipeline: str, run: int, task: str, attempt: int | None = None
    ) -> tasks.Execution:
        """Return a task execution; the latest attempt when ``attempt`` is None."""
        with self._lock:
            return self._runs.get_execution(namespace, pipeline, run, task, attempt)

    def list_executions(self, namespace: str, pipeline: str, run: int) -> list[tasks.Execution]:
        """Return every attempt of every task of the run, in pipeline order then attempt."""
        with self._lock:
            return self._runs.list_executions(namespace, pipeline, run)

    def list_active_executions(self, limit: int) -> list[tasks.Execution]:
        """Return task executions not yet complete across all runs, oldest first."""
        with self._lock:
            return self._runs.list_active_executions(limit)

    def count_executions(self, states: Sequence[tasks.State]) -> int:
        """Count task executions in ``states`` across all runs."""
        with self._lock:
            return self._runs.count_executions(states)

    def update_execution(
        self, execution: tasks.Execution, expected_revision: int
    ) -> tasks.Execution:
        """Write ``execution`` with compare-and-set; its key, position and creation are fixed."""
        with self._lock:
            before, after = self._runs.update_execution(execution, expected_revision)
            self._events.append(events.execution_changed(before, after, _now()))
            return after

    def renew_leases(self, owner: str, until: datetime.datetime) -> int:
        """Extend ``owner``'s leases on starting and running executions; revisions stay."""
        with self._lock:
            return self._runs.renew_leases(owner, until)

    # events -------------------------------------------------------------------------------

    def list_events(
        self, selected: events.Filter, after: int | None, limit: int
    ) -> list[events.Event]:
        """Return at most ``limit`` events that pass ``selected``, by id, after the id ``after``."""
        with self._lock:
            return self._events.list_(selected, after, limit)

    def delete_events(self, before: datetime.datetime) -> int:
        """Delete the events recorded before ``before``; return how many."""
        with self._lock:
            return self._events.delete(before)

    # audit history --------------------------------------------------------------------------

    def start_history(self, record: history.Record) -> history.Record:
        """Store ``record`` (its ``id`` ignored) and return it as stored, with its id."""
        with self._lock:
            return self._history.start(record)

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
            self._history.finish(record, finished, outcome, detail, error)

    def list_history(
        self, selected: history.Filter, after: int | None, limit: int
    ) -> list[history.Record]:
        """Return the records that pass ``selected``, newest first (``after`` is a record id)."""
        with self._lock:
            return self._history.list_(selected, after, limit)

    def abandon_history(self, instance: str, finished: datetime.datetime) -> int:
        """Mark ``incomplete`` the unfinished records of server ``instance``; return how many."""
        with self._lock:
            return self._history.abandon(instance, finished)

    # tokens -------------------------------------------------------------------------------

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

    def delete_run_tokens(self, namespace: str, pipeline: str, run: int) -> int:
        """Delete the run tokens of one run; return how many (none is no error)."""
        with self._lock:
            return self._tokens.delete_run(namespace, pipeline, run)

    def list_run_tokens(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return at most ``limit`` run tokens of every run ordered by name, after the name
        ``after``."""
        with self._lock:
            return self._tokens.list_run(after, limit)

    # roles --------------------------------------------------------------------------------

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

    # subscriptions made by hand ---------------------------------------------------------

    def create_subscription(self, subscription: subscriptions.Manual) -> subscriptions.Manual:
        """Store a new subscription and return it as stored; ``NotFound`` when its pipeline
        does not exist, ``AlreadyExists`` if its key is taken."""
        with self._lock:
            return self._subscriptions.create(subscription)

    def get_subscription(self, namespace: str, pipeline: str, key: str) -> subscriptions.Manual:
        """Return one subscription; ``NotFound`` names the namespace or pipeline if missing."""
        with self._lock:
            return self._subscriptions.get(namespace, pipeline, key)

    def list_subscriptions(
        self, namespace: str, pipeline: str, after: str | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return at most ``limit`` subscriptions of the pipeline ordered by key, after the key
        ``after``; ``NotFound`` for a missing namespace or pipeline."""
        with self._lock:
            return self._subscriptions.list_(namespace, pipeline, after, limit)

    def list_all_subscriptions(
        self, after: tuple[str, str, str] | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return at most ``limit`` subscriptions of every pipeline ordered by namespace,
        pipeline and key, after the triple ``after``."""
        with self._lock:
            return self._subscriptions.list_all(after, limit)

    def delete_subscription(self, namespace: str, pipeline: str, key: str) -> None:
        """Delete one subscription; ``NotFound`` if there is none."""
        with self._lock:
            self._subscriptions.delete(namespace, pipeline, key)

    # secrets ------------------------------------------------------------------------------

    def put_secret(self, secret: secrets.Secret) -> secrets.Secret:
        """Store ``secret``, replacing one of that name in that place (which keeps its
        ``created`` and counts its revision up); return it as stored. NotFound when its pipeline
        does not exist; InvalidArgument when only one of its namespace and pipeline is given."""
        with self._lock:
            return self._secrets.put(secret)

    def get_secret(self, namespace: str | None, pipeline: str | None, name: str) -> secrets.Secret:
        """Return one secret; NotFound names the namespace or pipeline if that is missing."""
        with self._lock:
            return self._secrets.get(namespace, pipeline, name)

    def list_secrets(
        self, namespace: str | None, pipeline: str | None, after: str | None, limit: int
    ) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets of a pipeline (or the global ones) ordered by name,
        after the name ``after``."""
        with self._lock:
            return self._secrets.list_(namespace, pipeline, after, limit)

    def delete_secret(self, namespace: str | None, pipeline: str | None, name: str) -> None:
        """Delete one secret; NotFound if there is none."""
        with self._lock:
            self._secrets.delete(namespace, pipeline, name)

    def list_secrets_not_under(self, key: str, limit: int) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets, of any place, encrypted under another key than
        ``key``: the global ones first, then the pipelines' by place and name."""
        with self._lock:
            return self._secrets.list_not_under(key, limit)

    # objects ------------------------------------------------------------------------------

    def put_object(
        self, obj: objects.Object, keep: int | None = None
    ) -> tuple[objects.Object | None, list[objects.Object]]:
        """Store ``obj``, replacing the object of that key in that place, with an
        ``object.stored`` event; for a pipeline object with ``keep``, then delete the pipeline's
        oldest objects beyond ``keep`` (never ``obj``) with an ``object.evicted`` event each.
        Return the object replaced (or None) and those evicted, oldest first. NotFound when the
        pipeline (or the run) does not exist."""
        with self._lock:
            stored, replaced, evicted = self._objects.put(obj, keep)
            now = _now()
            self._events.append(events.object_changed(events.OBJECT_STORED, stored, now))
            for gone in evicted:
                self._events.append(events.object_changed(events.OBJECT_EVICTED, gone, now))
            return replaced, evicted

    def get_object(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> objects.Object:
        """Return one object; NotFound names the namespace, pipeline or run if that is missing."""
        with self._lock:
            return self._objects.get(namespace, pipeline, run, key)

    def list_objects(
        self, namespace: str, pipeline: str, run: int | None, after: str | None, limit: int
    ) -> list[objects.Object]:
        """Return at most ``limit`` objects of a pipeline (``run`` None) or of one run ordered
        by key, after the key ``after``."""
        with self._lock:
            return self._objects.list_(namespace, pipeline, run, after, limit)

    def delete_object(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> objects.Object:
        """Delete one object with an ``object.deleted`` event and return it; NotFound if
        there is none."""
        with self._lock:
            gone = self._objects.delete(namespace, pipeline, run, key)
            self._events.append(events.object_changed(events.OBJECT_DELETED, gone, _now()))
            return gone

    def expire_run_objects(
        self, namespace: str, pipeline: str, before_run: int, limit: int
    ) -> list[objects.Object]:
        """Delete at most ``limit`` objects of the pipeline's runs numbered below
        ``before_run``, with an ``object.expired`` event each; return them by run and key."""
        with self._lock:
            expired = self._objects.expire(namespace, pipeline, before_run, limit)
            now = _now()
            for gone in expired:
                self._events.append(events.object_changed(events.OBJECT_EXPIRED, gone, now))
            return expired

    # extensions installed from images -----------------------------------------------------

    def put_extension(self, extension: images.Installed) -> images.Installed:
        """Store ``extension``, replacing the one of that name; return it as stored."""
        with self._lock:
            return self._extensions.put(extension)

    def get_extension(self, name: str) -> images.Installed:
        """Return the extension installed from an image as ``name``; NotFound if none."""
        with self._lock:
            return self._extensions.get(name)

    def list_extensions(self, after: str | None, limit: int) -> list[images.Installed]:
        """Return at most ``limit`` extensions installed from images ordered by name, after
        the name ``after``."""
        with self._lock:
            return self._extensions.list_(after, limit)

    def delete_extension(self, name: str) -> None:
        """Delete the extension installed as ``name``; NotFound if there is none."""
        with self._lock:
            self._extensions.delete(name)

    # locks --------------------------------------------------------------------------------

    def acquire_lock(
        self, name: str, holder: str, now: datetime.datetime, expires: datetime.datetime
    ) -> str | None:
        """Take the lock ``name`` for ``holder`` until ``expires`` unless someone else holds it
        unexpired at ``now``; return None when taken, else the current holder."""
        with self._lock:
            return self._locks.acquire(name, holder, now, expires)

    def release_lock(self, name: str, holder: str) -> None:
        """Release the lock ``name`` if ``holder`` holds it; nothing otherwise."""
        with self._lock:
            self._locks.release(name, holder)

    def close(self) -> None:
        """Do nothing: there are no connections to release."""


def _now() -> datetime.datetime:
    """Return the time an event is recorded at."""
    return datetime.datetime.now(datetime.UTC)
