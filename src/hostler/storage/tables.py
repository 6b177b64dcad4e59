"""The schema: every table Hostler keeps, as SQLAlchemy Core metadata.

Migrations (``migrations/versions``) create exactly this; a test compares the two. Every row that
callers change with compare-and-set carries a ``revision`` column; deployments change under their
pipeline's, history records and locks are settled inside one write transaction each, roles
and subscriptions made by hand are only ever created and deleted, secrets are replaced whole
(their revision counts how often), and objects and extensions installed from images are replaced
whole, with no revision.
Timestamps are stored in UTC and always read back timezone-aware, whatever the database.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

NAME = 63
"""Length of identifiers: namespace, pipeline and task names (see ``core.identifiers``)."""

SECRET_NAME = 128
"""Length of secret names (see ``core.secrets.check_name``)."""

OBJECT_KEY = 128
"""Length of object keys (see ``core.objects.check_key``)."""

PIPELINE_SCOPE = 0
"""The ``run`` of a pipeline's object in ``objects``: runs are numbered from 1."""

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""All of Hostler's tables; constraint names follow one convention so migrations can name them."""


class UTCDateTime(sa.TypeDecorator[datetime.datetime]):
    """A timestamp stored in UTC and read back timezone-aware in UTC, on SQLite too.

    Naive datetimes are refused: Hostler's clock is always aware, and a naive value is a bug that
    would otherwise shift times silently.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime.datetime | None, dialect: sa.Dialect
    ) -> datetime.datetime | None:
        """Convert an aware datetime to UTC before it is written."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone")
        return value.astimezone(datetime.UTC)

    def process_result_value(
        self, value: Any | None, dialect: sa.Dialect
    ) -> datetime.datetime | None:
        """Return the stored value as an aware UTC datetime (SQLite returns it naive)."""
        if value is None:
            return None
        if not isinstance(value, datetime.datetime):
            raise TypeError(f"timestamp column returned {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


def _revision() -> sa.Column[int]:
    return sa.Column("revision", sa.Integer, nullable=False)


namespaces = sa.Table(
    "namespaces",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
)

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("namespace", sa.String(NAME), sa.ForeignKey("namespaces.name"), primary_key=True),
    sa.Column("id", sa.String(NAME), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("live_version", sa.Integer, nullable=True),
    sa.Column("run_counter", sa.Integer, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    _revision(),
    # The deployment whose canary takes a share of new runs; no foreign key, as deployments
    # refer to their pipeline already. Written with the deployment, in its transaction.
    sa.Column("canary", sa.Integer, nullable=True),
)

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("pipeline", sa.String(NAME), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(["namespace", "pipeline"], ["pipelines.namespace", "pipelines.id"]),
    sa.UniqueConstraint("namespace", "pipeline", "digest"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("pipeline", sa.String(NAME), primary_key=True),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason_kind", sa.String(64), nullable=True),
    sa.Column("reason_description", sa.Text, nullable=True),
    sa.Column("variables", sa.Text, nullable=False),
    sa.Column("trigger", sa.String(255), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("started", UTCDateTime, nullable=True),
    sa.Column("ended", UTCDateTime, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("logs_deleted", UTCDateTime, nullable=True),
    _revision(),
    # The default gives the runs stored before canaries existed their route; new rows set it.
    sa.Column("route", sa.String(16), nullable=False, server_default="live"),
    sa.ForeignKeyConstraint(
        ["namespace", "pipeline", "version"],
        ["versions.namespace", "versions.pipeline", "versions.version"],
    ),
)

task_executions = sa.Table(
    "task_executions",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("pipeline", sa.String(NAME), primary_key=True),
    sa.Column("run", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("task", sa.String(NAME), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason_kind", sa.String(64), nullable=True),
    sa.Column("reason_description", sa.Text, nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("queued", UTCDateTime, nullable=True),
    sa.Column("started", UTCDateTime, nullable=True),
    sa.Column("ended", UTCDateTime, nullable=True),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("container", sa.String(255), nullable=True),
    sa.Column("image_digest", sa.String(255), nullable=True),
    sa.Column("lease_owner", sa.String(255), nullable=True),
    sa.Column("lease_expires", UTCDateTime, nullable=True),
    _revision(),
    sa.ForeignKeyConstraint(
        ["namespace", "pipeline", "run"], ["runs.namespace", "runs.pipeline", "runs.id"]
    ),
)


events = sa.Table(
    "events",
    metadata,
    # AUTOINCREMENT on SQLite: an id is never given out twice, even after the newest rows were
    # deleted, so a reader resuming "after id N" cannot mistake a new event for one it has seen.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime, nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False, index=True),
    sa.Column("namespace", sa.String(NAME), nullable=True),
    sa.Column("pipeline", sa.String(NAME), nullable=True),
    sa.Column("run", sa.Integer, nullable=True),
    sa.Column("task", sa.String(NAME), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index(None, "namespace", "pipeline", "run"),
    sqlite_autoincrement=True,
)


deployments = sa.Table(
    "deployments",
    metadata,
    # No revision: a deployment changes only with its pipeline row, under that row's
    # compare-and-set, but for ``routed``, which route_run counts up in place.
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("pipeline", sa.String(NAME), primary_key=True),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("ended", UTCDateTime, nullable=True),
    sa.Column("first_run", sa.Integer, nullable=False),
    sa.Column("percent", sa.Integer, nullable=True),
    sa.Column("abort_max_failure_rate", sa.Integer, nullable=True),
    sa.Column("abort_window", sa.Integer, nullable=True),
    sa.Column("routed", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.ForeignKeyConstraint(["namespace", "pipeline"], ["pipelines.namespace", "pipelines.id"]),
)


history = sa.Table(
    "history",
    metadata,
    # AUTOINCREMENT on SQLite, as for events: a record id is never given out twice.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("instance", sa.String(255), nullable=False),
    sa.Column("started", UTCDateTime, nullable=False, index=True),
    sa.Column("finished", UTCDateTime, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sqlite_autoincrement=True,
)


locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("acquired", UTCDateTime, nullable=False),
    sa.Column("expires", UTCDateTime, nullable=False),
)


tokens = sa.Table(
    "tokens",
    metadata,
    # Only the SHA-256 digest of a token's secret is kept, never the secret; ``roles`` is a JSON
    # list of bindings (``admin``, ``namespace-reader:team-*``, a custom role's name).
    sa.Column("id", sa.String(12), primary_key=True),
    sa.Column("name", sa.String(NAME), nullable=False, unique=True),
    sa.Column("roles", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("expires", UTCDateTime, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    _revision(),
    # A run token's run, as 'NAMESPACE/PIPELINE/RUN' (NULL for any other token): the end of that
    # run deletes its tokens by it. No foreign key: a token may outlive its run's row.
    sa.Column("run_ref", sa.String(255), nullable=True, index=True),
)


roles = sa.Table(
    "roles",
    metadata,
    # The roles admins make; the built-in ones live in ``core.access``. ``grants`` is a JSON list
    # of ``{"kinds": [...], "actions": [...], "pattern": ...}``, kinds and actions in enum order.
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("grants", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
)


secrets = sa.Table(
    "secrets",
    metadata,
    # ``place`` says whose a secret is: '' for a global secret, 'NAMESPACE/PIPELINE' for a
    # pipeline's. It is the key because ``namespace`` and ``pipeline`` are NULL for a global
    # secret, and NULLs are never equal in a unique key; those two stay for the foreign key, which
    # is not checked when they are NULL. The check keeps the three in step. ``ciphertext`` is
    # ``ports.Cipher``'s output under the key named ``key``; ``namespaces`` is the JSON list of
    # the namespace patterns that may use a global secret.
    sa.Column("place", sa.String(2 * NAME + 1), primary_key=True),
    sa.Column("name", sa.String(SECRET_NAME), primary_key=True),
    sa.Column("namespace", sa.String(NAME), nullable=True),
    sa.Column("pipeline", sa.String(NAME), nullable=True),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("key", sa.String(16), nullable=False),
    sa.Column("namespaces", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    _revision(),
    sa.ForeignKeyConstraint(["namespace", "pipeline"], ["pipelines.namespace", "pipelines.id"]),
    sa.CheckConstraint(
        "(namespace IS NULL) = (pipeline IS NULL)"
        " AND place = COALESCE(namespace || '/' || pipeline, '')",
        name="place",
    ),
)


objects = sa.Table(
    "objects",
    metadata,
    # A pipeline's objects have ``run`` PIPELINE_SCOPE (0), so that it can be part of the key
    # (a NULL never is); run objects have their run's id, without a foreign key to it, as that
    # cannot hold for 0. The content is in the object store, named after ``digest``. The index
    # gives a pipeline's objects oldest first, the order of eviction.
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("pipeline", sa.String(NAME), primary_key=True),
    sa.Column("run", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(OBJECT_KEY), primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.ForeignKeyConstraint(["namespace", "pipeline"], ["pipelines.namespace", "pipelines.id"]),
    sa.Index(None, "namespace", "pipeline", "run", "created"),
)


subscriptions = sa.Table(
    "subscriptions",
    metadata,
    # The subscriptions made by hand; those of a pipeline's file live in its versions. ``key``
    # is unique among both, which the use cases check (versions are JSON). ``settings`` is the
    # extension's settings as a JSON object, secret references unresolved.
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("pipeline", sa.String(NAME), primary_key=True),
    sa.Column("key", sa.String(NAME), primary_key=True),
    sa.Column("extension", sa.String(NAME), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.ForeignKeyConstraint(["namespace", "pipeline"], ["pipelines.namespace", "pipelines.id"]),
)


extensions = sa.Table(
    "extensions",
    metadata,
    # The extensions installed from images, replaced whole by an update. ``config`` is a JSON
    # object of the HOSTLER_EXTENSION_CONFIG_* values given at install, kept as given (they may
    # be tokens: the API never returns them). ``pin`` is a major version, or NULL.
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("image", sa.Text, nullable=False),
    sa.Column("image_id", sa.String(255), nullable=False),
    sa.Column("version", sa.String(255), nullable=False),
    sa.Column("pin", sa.Integer, nullable=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("installed", UTCDateTime, nullable=False),
    sa.Column("installed_by", sa.String(255), nullable=False),
)


installation = sa.Table(
    "installation",
    metadata,
    # One row: the name of this installation, labelled on every container it makes.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created", UTCDateTime, nullable=False),
)


def where_key(table: sa.Table, columns: Sequence[str]) -> sa.ColumnElement[bool]:
    """Return ``col = :k_col AND ...`` over ``columns``: a reusable, pre-built key condition."""
    return sa.and_(*(table.c[name] == sa.bindparam(f"k_{name}") for name in columns))


def compare_and_set(table: sa.Table, key: Sequence[str], values: Sequence[str]) -> sa.Update:
    """Return the compare-and-set update of ``table``, built once and reused with parameters.

    ``UPDATE table SET <values> = :v_<name>, revision = revision + 1 WHERE <key> = :k_<name>
    AND revision = :expected RETURNING *``. Building statements once keeps SQLAlchemy's
    per-call work (coercion, cache keys) off the engine's hot path.
    """
    return (
        table.update()
        .where(where_key(table, key), table.c.revision == sa.bindparam("expected"))
        .values(
            {
                table.c.revision: table.c.revision + 1,
                **{
                    table.c[name]: sa.bindparam(f"v_{name}", type_=table.c[name].type)
                    for name in values
                },
            }
        )
        .returning(*table.c)
    )


def params(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``values`` with ``prefix`` before each name: parameters of a pre-built statement."""
    return {prefix + name: value for name, value in values.items()}
