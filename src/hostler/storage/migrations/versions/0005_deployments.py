"""Keep deployments and canaries, the audit history of admin operations, and named locks.

Revision ID: 0005
Revises: 0004
Create Date: 2025-04-01 00:00:00
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``deployments``, ``history`` and ``locks``; add ``pipelines.canary`` and
    ``runs.route`` (``live`` for the runs stored already)."""
    # Both columns are added in place (ALTER TABLE ADD COLUMN on SQLite too): rebuilding ``runs``
    # would drop a table that task executions refer to, which foreign keys forbid.
    with op.batch_alter_table("pipelines") as batch:
        batch.add_column(sa.Column("canary", sa.Integer, nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("route", sa.String(16), nullable=False, server_default="live"))
    op.create_table(
        "deployments",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("pipeline", sa.String(NAME), nullable=False),
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        _timestamp("started"),
        _timestamp("ended", nullable=True),
        sa.Column("first_run", sa.Integer, nullable=False),
        sa.Column("percent", sa.Integer, nullable=True),
        sa.Column("abort_max_failure_rate", sa.Integer, nullable=True),
        sa.Column("abort_window", sa.Integer, nullable=True),
        sa.Column("routed", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("namespace", "pipeline", "id", name=op.f("pk_deployments")),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline"],
            ["pipelines.namespace", "pipelines.id"],
            name=op.f("fk_deployments_pipelines"),
        ),
    )
    op.create_index(op.f("ix_deployments_state"), "deployments", ["state"])
    op.create_table(
        "history",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("instance", sa.String(255), nullable=False),
        _timestamp("started"),
        _timestamp("finished", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_history_started"), "history", ["started"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        _timestamp("acquired"),
        _timestamp("expires"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )


def downgrade() -> None:
    """Drop the locks, the history and the deployments, and the columns added for them."""
    op.drop_table("locks")
    op.drop_index(op.f("ix_history_started"), table_name="history")
    op.drop_table("history")
    op.drop_index(op.f("ix_deployments_state"), table_name="deployments")
    op.drop_table("deployments")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("route")
    with op.batch_alter_table("pipelines") as batch:
        batch.drop_column("canary")
