"""The SQL store: ``ports.Store`` on SQLAlchemy Core, one transaction per method.

Reads run in read-only transactions (on SQLite they never wait for writers); writes take the
write lock up front. Compare-and-set updates are ``UPDATE ... WHERE revision = :expected
RETURNING *`` statements, after a read by primary key of the state and status they replace.

Every write that changes something worth knowing appends its event (``hostler.core.events``) in
its own transaction: a namespace or version created, a live version changed (by an update of the
pipeline or a deployment), a run created, a new state or status of a run or task execution, an
object stored, deleted, evicted or expired. A write that fails, or loses its compare-and-set,
appends nothing; an update that changes neither state nor status appends nothing either. The
audit history and the locks are written in transactions of their own, apart from the operations
they guard. Writes of tokens, roles, secrets, subscriptions and extensions append no events.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

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
from hostler.storage import database, tables
from hostler.storage import deployments as deployment_rows
from hostler.storage import events as event_rows
from hostler.storage import executions as execution_rows
from hostler.storage import extensions as extension_rows
from hostler.storage import history as history_rows
from hostler.storage import locks as lock_rows
from hostler.storage import namespaces as namespace_rows
from hostler.storage import objects as object_rows
from hostler.storage import pipelines as pipeline_rows
from hostler.storage import roles as role_rows
from hostler.storage import runs as run_rows
from hostler.storage import secrets as secret_rows
from hostler.storage import subscriptions as subscription_rows
from hostler.storage import tokens as token_rows


class Store:
    """Hostler's durable state in an SQL database; implements ``hostler.core.ports.Store``.

    The engine must have been made by ``database.connect`` and migrated by ``database.migrate``.
    Safe to share between threads; ``close`` disposes of the engine's connections.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def _read(self) -> database.Transaction:
        return database.transaction(self._engine, write=False)

    def _write(self) -> database.Transaction:
        return database.transaction(self._engine, write=True)

    def installation(self) -> str:
        """Return the name of this installation, made by the first migration that needed it."""
        with self._read() as connection:
            return str(connection.execute(sa.select(tables.installation.c.id)).scalar_one())

    # namespaces ---------------------------------------------------------------------------

    def create_namespace(self, namespace: namespaces.Namespace) -> namespaces.Namespace:
        """Create a namespace; ``AlreadyExists`` if the name is taken."""
        with self._write() as connection:
            created = namespace_rows.create(connection, namespace)
            event_rows.append(connection, events.namespace_created(created, _now()))
            return created

    def get_namespace(self, name: str) -> namespaces.Namespace:
        """Return the namespace ``name``; ``NotFound`` if there is none."""
        with self._read() as connection:
            return namespace_rows.get(connection, name)

    def list_namespaces(self, after: str | None, limit: int) -> list[namespaces.Namespace]:
        """Return at most ``limit`` namespaces ordered by name, after the name ``after``."""
        with self._read() as connection:
            return namespace_rows.list_(connection, after, limit)

    # pipelines and versions ---------------------------------------------------------------

    def get_pipeline(self, namespace: str, pipeline: str) -> pipelines.Pipeline:
        """Return the pipeline; ``NotFound`` names the namespace if that is what is missing."""
        with self._read() as connection:
            return pipeline_rows.get(connection, namespace, pipeline)

    def list_pipelines(
        self, namespace: str, after: str | None, limit: int
    ) -> list[pipelines.Pipeline]:
        """Return the namespace's pipelines ordered by id; ``NotFound`` for a missing namespace."""
        with self._read() as connection:
            return pipeline_rows.list_(connection, namespace, after, limit)

    def find_version(self, namespace: str, pipeline: str, digest: str) -> pipelines.Version | None:
        """Return the version of the pipeline with ``digest``, or None."""
        with self._read() as connection:
            return pipeline_rows.find_version(connection, namespace, pipeline, digest)

    def create_version(
        self, namespace: str, config: pipelines.Config, digest: str, now: datetime.datetime
    ) -> pipelines.Version:
        """Store ``config`` as the next version of pipeline ``config.id`` (created if new)."""
        with self._write() as connection:
            version = pipeline_rows.create_version(connection, namespace, config, digest, now)
            event_rows.append(connection, events.version_created(version, _now()))
            return version

    def get_version(self, namespace: str, pipeline: str, version: int) -> pipelines.Version:
        """Return one version of a pipeline."""
        with self._read() as connection:
            return pipeline_rows.get_version(connection, namespace, pipeline, version)

    def list_versions(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[pipelines.Version]:
        """Return the pipeline's versions, newest first (``after`` is a version number)."""
        with self._read() as connection:
            return pipeline_rows.list_versions(connection, namespace, pipeline, after, limit)

    def update_pipeline(
        self, pipeline: pipelines.Pipeline, expected_revision: int
    ) -> pipelines.Pipeline:
        """Write ``pipeline`` (description, live version, updated) with compare-and-set."""
        with self._write() as connection:
            before, after = pipeline_rows.update(connection, pipeline, expected_revision)
            event_rows.append(connection, events.pipeline_deployed(before, after, _now()))
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
        with self._write() as connection:
            before, after, saved = deployment_rows.save(
                connection, pipeline, expected_revision, deployment
            )
            event_rows.append(connection, events.pipeline_deployed(before, after, _now()))
            event_rows.append(connection, events.canary_changed(saved, _now()))
            return after, saved

    def get_deployment(
        self, namespace: str, pipeline: str, deployment: int
    ) -> deployments.Deployment:
        """Return one deployment; ``NotFound`` names the namespace or pipeline if missing."""
        with self._read() as connection:
            return deployment_rows.get(connection, namespace, pipeline, deployment)

    def list_deployments(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[deployments.Deployment]:
        """Return the pipeline's deployments, newest first (``after`` is a deployment id)."""
        with self._read() as connection:
            return deployment_rows.list_(connection, namespace, pipeline, after, limit)

    def list_canaries(self, limit: int) -> list[deployments.Deployment]:
        """Return the deployments in state ``canary`` across all pipelines, oldest first."""
        with self._read() as connection:
            return deployment_rows.list_canaries(connection, limit)

    def route_run(self, namespace: str, pipeline: str) -> tuple[int, runs.Route]:
        """Return the version a new run of the pipeline takes and why, counting it as routed."""
        with self._write() as connection:
            return deployment_rows.route(connection, namespace, pipeline)

    def tally_runs(
        self, namespace: str, pipeline: str, first_run: int, last_run: int | None
    ) -> list[deployments.Tally]:
        """Count the runs with ids from ``first_run`` to ``last_run`` (None: the newest) by
        version, in version order."""
        with self._read() as connection:
            return deployment_rows.tally(connection, namespace, pipeline, first_run, last_run)

    # runs and task executions -------------------------------------------------------------

    def create_run(
        self, run: runs.Run, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Store a new run with its task executions, giving it the pipeline's next run id."""
        tasks.check_of_pipeline(run.namespace, run.pipeline, executions)
        with self._write() as connection:
            stored = run_rows.create(connection, run)
            created = execution_rows.create(connection, stored.id, executions)
            event_rows.append(connection, events.run_created(stored, _now()))
            return stored, created

    def get_run(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        """Return one run; ``NotFound`` names the namespace or pipeline if that is missing."""
        with self._read() as connection:
            return run_rows.get(connection, namespace, pipeline, run)

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
        with self._read() as connection:
            return run_rows.list_(connection, namespace, pipeline, after, limit, states, version)

    def list_active_runs(self, limit: int) -> list[runs.Run]:
        """Return runs not yet complete across all pipelines, oldest first (for the engine)."""
        with self._read() as connection:
            return run_rows.list_active(connection, limit)

    def count_runs(self, namespace: str, pipeline: str, state: runs.State) -> int:
        """Count the pipeline's runs in ``state``."""
        with self._read() as connection:
            return run_rows.count(connection, namespace, pipeline, state)

    def update_run(self, run: runs.Run, expected_revision: int) -> runs.Run:
        """Write ``run`` with compare-and-set; its key, version, variables and trigger are fixed."""
        with self._write() as connection:
            before, after = run_rows.update(connection, run, expected_revision)
            event_rows.append(connection, events.run_changed(before, after, _now()))
            return after

    def get_execution(
        self, namespace: str, pipeline: str, run: int, task: str, attempt: int | None = None
    ) -> tasks.Execution:
        """Return a task execution; the latest attempt when ``attempt`` is None."""
        with self._read() as connection:
            return execution_rows.get(connection, namespace, pipeline, run, task, attempt)

    def list_executions(self, namespace: str, pipeline: str, run: int) -> list[tasks.Execution]:
        """Return every attempt of every task of the run, in pipeline order then attempt."""
        with self._read() as connection:
            return execution_rows.list_(connection, namespace, pipeline, run)

    def list_active_executions(self, limit: int) -> list[tasks.Execution]:
        """Return task executions not yet complete across all runs, oldest first."""
        with self._read() as connection:
            return execution_rows.list_active(connection, limit)

    def count_executions(self, states: Sequence[tasks.State]) -> int:
        """Count task executions in ``states`` across all runs."""
        with self._read() as connection:
            return execution_rows.count(connection, states)

    def update_execution(
        self, execution: tasks.Execution, expected_revision: int
    ) -> tasks.Execution:
        """Write ``execution`` with compare-and-set; its key, position and creation are fixed."""
        with self._write() as connection:
            before, after = execution_rows.update(connection, execution, expected_revision)
            event_rows.append(connection, events.execution_changed(before, after, _now()))
            return after

    def add_attempts(
        self, run: runs.Run, expected_revision: int, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Write ``run`` with compare-and-set and add new attempts of its tasks, together."""
        tasks.check_of_pipeline(run.namespace, run.pipeline, executions)
        with self._write() as connection:
            execution_rows.check_new(connection, executions)
            before, after = run_rows.update(connection, run, expected_revision)
            added = execution_rows.create(connection, run.id, executions)
            now = _now()
            event_rows.append(connection, events.run_changed(before, after, now))
            for execution in added:
                event_rows.append(connection, events.attempt_created(execution, now))
            return after, added

    def renew_leases(self, owner: str, until: datetime.datetime) -> int:
        """Extend ``owner``'s leases on starting and running executions; revisions stay."""
        with self._write() as connection:
            return execution_rows.renew_leases(connection, owner, until)

    # events -------------------------------------------------------------------------------

    def list_events(
        self, selected: events.Filter, after: int | None, limit: int
    ) -> list[events.Event]:
        """Return at most ``limit`` events that pass ``selected``, by id, after the id ``after``."""
        with self._read() as connection:
            return event_rows.list_(connection, selected, after, limit)

    def delete_events(self, before: datetime.datetime) -> int:
        """Delete the events recorded before ``before``; return how many."""
        with self._write() as connection:
            return event_rows.delete(connection, before)

    # audit history --------------------------------------------------------------------------

    def start_history(self, record: history.Record) -> history.Record:
        """Store ``record`` (its ``id`` ignored) and return it as stored, with its id."""
        with self._write() as connection:
            return history_rows.start(connection, record)

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
        with self._write() as connection:
            history_rows.finish(connection, record, finished, outcome, detail, error)

    def list_history(
        self, selected: history.Filter, after: int | None, limit: int
    ) -> list[history.Record]:
        """Return the records that pass ``selected``, newest first (``after`` is a record id)."""
        with self._read() as connection:
            return history_rows.list_(connection, selected, after, limit)

    def abandon_history(self, instance: str, finished: datetime.datetime) -> int:
        """Mark ``incomplete`` the unfinished records of server ``instance``; return how many."""
        with self._write() as connection:
            return history_rows.abandon(connection, instance, finished)

    # tokens -------------------------------------------------------------------------------

    def create_token(self, token: tokens.Token) -> tokens.Token:
        """Store a new token at revision 1; ``AlreadyExists`` if its name (or id) is taken."""
        with self._write() as connection:
            return token_rows.create(connection, token)

    def get_token(self, token: str) -> tokens.Token:
        """Return the token with id ``token``; ``NotFound`` if there is none."""
        with self._read() as connection:
            return token_rows.get(connection, token)

    def list_tokens(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return at most ``limit`` tokens ordered by name, after the name ``after``."""
        with self._read() as connection:
            return token_rows.list_(connection, after, limit)

    def update_token(self, token: tokens.Token, expected_revision: int) -> tokens.Token:
        """Write the token's roles, expiry and disabled flag with compare-and-set; its name,
        digest, creation and creator stay as stored."""
        with self._write() as connection:
            return token_rows.update(connection, token, expected_revision)

    def delete_token(self, token: str) -> None:
        """Delete the token with id ``token``; ``NotFound`` if there is none."""
        with self._write() as connection:
            token_rows.delete(connection, token)

    def delete_run_tokens(self, namespace: str, pipeline: str, run: int) -> int:
        """Delete the run tokens of one run; return how many (none is no error)."""
        with self._write() as connection:
            return token_rows.delete_run(connection, namespace, pipeline, run)

    def list_run_tokens(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return at most ``limit`` run tokens of every run ordered by name, after the name
        ``after``."""
        with self._read() as connection:
            return token_rows.list_run(connection, after, limit)

    # roles --------------------------------------------------------------------------------

    def create_role(self, role: access.Role) -> access.Role:
        """Store a new role; ``AlreadyExists`` if its name is taken. Returned as stored:
        ``builtin`` is not kept."""
        with self._write() as connection:
            return role_rows.create(connection, role, _now())

    def get_role(self, name: str) -> access.Role:
        """Return the role ``name``; ``NotFound`` if there is none."""
        with self._read() as connection:
            return role_rows.get(connection, name)

    def list_roles(self, after: str | None, limit: int) -> list[access.Role]:
        """Return at most ``limit`` roles ordered by name, after the name ``after``."""
        with self._read() as connection:
            return role_rows.list_(connection, after, limit)

    def delete_role(self, name: str) -> None:
        """Delete the role ``name``; ``NotFound`` if there is none."""
        with self._write() as connection:
            role_rows.delete(connection, name)

    # subscriptions made by hand ---------------------------------------------------------

    def create_subscription(self, subscription: subscriptions.Manual) -> subscriptions.Manual:
        """Store a new subscription and return it as stored; ``NotFound`` when its pipeline
        does not exist, ``AlreadyExists`` if its key is taken."""
        with self._write() as connection:
            return subscription_rows.create(connection, subscription)

    def get_subscription(self, namespace: str, pipeline: str, key: str) -> subscriptions.Manual:
        """Return one subscription; ``NotFound`` names the namespace or pipeline if missing."""
        with self._read() as connection:
            return subscription_rows.get(connection, namespace, pipeline, key)

    def list_subscriptions(
        self, namespace: str, pipeline: str, after: str | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return at most ``limit`` subscriptions of the pipeline ordered by key, after the key
        ``after``; ``NotFound`` for a missing namespace or pipeline."""
        with self._read() as connection:
            return subscription_rows.list_(connection, namespace, pipeline, after, limit)

    def list_all_subscriptions(
        self, after: tuple[str, str, str] | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return at most ``limit`` subscriptions of every pipeline ordered by namespace,
        pipeline and key, after the triple ``after``."""
        with self._read() as connection:
            return subscription_rows.list_all(connection, after, limit)

    def delete_subscription(self, namespace: str, pipeline: str, key: str) -> None:
        """Delete one subscription; ``NotFound`` if there is none."""
        with self._write() as connection:
            subscription_rows.delete(connection, namespace, pipeline, key)

    # secrets ------------------------------------------------------------------------------

    def put_secret(self, secret: secrets.Secret) -> secrets.Secret:
        """Store ``secret``, replacing one of that name in that place (which keeps its
        ``created`` and counts its revision up); return it as stored. NotFound when its pipeline
        does not exist; InvalidArgument when only one of its namespace and pipeline is given."""
        with self._write() as connection:
            return secret_rows.put(connection, secret)

    def get_secret(self, namespace: str | None, pipeline: str | None, name: str) -> secrets.Secret:
        """Return one secret; NotFound names the namespace or pipeline if that is missing."""
        with self._read() as connection:
            return secret_rows.get(connection, namespace, pipeline, name)

    def list_secrets(
        self, namespace: str | None, pipeline: str | None, after: str | None, limit: int
    ) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets of a pipeline (or the global ones) ordered by name,
        after the name ``after``."""
        with self._read() as connection:
            return secret_rows.list_(connection, namespace, pipeline, after, limit)

    def delete_secret(self, namespace: str | None, pipeline: str | None, name: str) -> None:
        """Delete one secret; NotFound if there is none."""
        with self._write() as connection:
            secret_rows.delete(connection, namespace, pipeline, name)

    def list_secrets_not_under(self, key: str, limit: int) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets, of any place, encrypted under another key than
        ``key``: the global ones first, then the pipelines' by place and name."""
        with self._read() as connection:
            return secret_rows.list_not_under(connection, key, limit)

    # objects ------------------------------------------------------------------------------

    def put_object(
        self, obj: objects.Object, keep: int | None = None
    ) -> tuple[objects.Object | None, list[objects.Object]]:
        """Store ``obj``, replacing the object of that key in that place, with an
        ``object.stored`` event; for a pipeline object with ``keep``, then delete the pipeline's
        oldest objects beyond ``keep`` (never ``obj``) with an ``object.evicted`` event each.
        Return the object replaced (or None) and those evicted, oldest first. NotFound when the
        pipeline (or the run) does not exist."""
        with self._write() as connection:
            replaced, evicted = object_rows.put(connection, obj, keep)
            now = _now()
            event_rows.append(connection, events.object_changed(events.OBJECT_STORED, obj, now))
            for gone in evicted:
                event = events.object_changed(events.OBJECT_EVICTED, gone, now)
                event_rows.append(connection, event)
            return replaced, evicted

    def get_object(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> objects.Object:
        """Return one object; NotFound names the namespace, pipeline or run if that is missing."""
        with self._read() as connection:
            return object_rows.get(connection, namespace, pipeline, run, key)

    def list_objects(
        self, namespace: str, pipeline: str, run: int | None, after: str | None, limit: int
    ) -> list[objects.Object]:
        """Return at most ``limit`` objects of a pipeline (``run`` None) or of one run ordered
        by key, after the key ``after``."""
        with self._read() as connection:
            return object_rows.list_(connection, namespace, pipeline, run, after, limit)

    def delete_object(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> objects.Object:
        """Delete one object with an ``object.deleted`` event and return it; NotFound if
        there is none."""
        with self._write() as connection:
            gone = object_rows.delete(connection, namespace, pipeline, run, key)
            event_rows.append(
                connection, events.object_changed(events.OBJECT_DELETED, gone, _now())
            )
            return gone

    def expire_run_objects(
        self, namespace: str, pipeline: str, before_run: int, limit: int
    ) -> list[objects.Object]:
        """Delete at most ``limit`` objects of the pipeline's runs numbered below
        ``before_run``, with an ``object.expired`` event each; return them by run and key."""
        with self._write() as connection:
            expired = object_rows.expire(connection, namespace, pipeline, before_run, limit)
            now = _now()
            for gone in expired:
                event_rows.append(
                    connection, events.object_changed(events.OBJECT_EXPIRED, gone, now)
                )
            return expired

    # extensions installed from images -----------------------------------------------------

    def put_extension(self, extension: images.Installed) -> images.Installed:
        """Store ``extension``, replacing the one of that name; return it as stored."""
        with self._write() as connection:
            return extension_rows.put(connection, extension)

    def get_extension(self, name: str) -> images.Installed:
        """Return the extension installed from an image as ``name``; NotFound if none."""
        with self._read() as connection:
            return extension_rows.get(connection, name)

    def list_extensions(self, after: str | None, limit: int) -> list[images.Installed]:
        """Return at most ``limit`` extensions installed from images ordered by name, after
        the name ``after``."""
        with self._read() as connection:
            return extension_rows.list_(connection, after, limit)

    def delete_extension(self, name: str) -> None:
        """Delete the extension installed as ``name``; NotFound if there is none."""
        with self._write() as connection:
            extension_rows.delete(connection, name)

    # locks --------------------------------------------------------------------------------

    def acquire_lock(
        self, name: str, holder: str, now: datetime.datetime, expires: datetime.datetime
    ) -> str | None:
        """Take the lock ``name`` for ``holder`` until ``expires`` unless someone else holds it
        unexpired at ``now``; return None when taken, else the current holder."""
        with self._write() as connection:
            return lock_rows.acquire(connection, name, holder, now, expires)

    def release_lock(self, name: str, holder: str) -> None:
        """Release the lock ``name`` if ``holder`` holds it; nothing otherwise."""
        with self._write() as connection:
            lock_rows.release(connection, name, holder)

    def close(self) -> None:
        """Release the engine's pooled connections."""
        self._engine.dispose()


def _now() -> datetime.datetime:
    """Return the time an event is recorded at."""
    return datetime.datetime.now(datetime.UTC)
