"""Create namespaces, pipelines, versions, runs and task executions; add the default namespace.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _reason() -> list[sa.Column[str]]:
    return [
        sa.Column("reason_kind", sa.String(64), nullable=True),
        sa.Column("reason_description", sa.Text, nullable=True),
    ]


def upgrade() -> None:
    """Create the first schema and the default namespace."""
    namespaces = op.create_table(
        "namespaces",
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        _timestamp("created"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_namespaces")),
    )
    op.create_table(
        "pipelines",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("id", sa.String(NAME), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("live_version", sa.Integer, nullable=True),
        sa.Column("run_counter", sa.Integer, nullable=False),
        _timestamp("created"),
        _timestamp("updated"),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("namespace", "id", name=op.f("pk_pipelines")),
        sa.ForeignKeyConstraint(
            ["namespace"], ["namespaces.name"], name=op.f("fk_pipelines_namespaces")
        ),
    )
    op.create_table(
        "versions",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("pipeline", sa.String(NAME), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        _timestamp("created"),
        sa.PrimaryKeyConstraint("namespace", "pipeline", "version", name=op.f("pk_versions")),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline"],
            ["pipelines.namespace", "pipelines.id"],
            name=op.f("fk_versions_pipelines"),
        ),
        sa.UniqueConstraint(
            "namespace", "pipeline", "digest", name=op.f("uq_versions_namespace_pipeline_digest")
        ),
    )
    op.create_table(
        "runs",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("pipeline", sa.String(NAME), nullable=False),
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_reason(),
        sa.Column("variables", sa.Text, nullable=False),
        sa.Column("trigger", sa.String(255), nullable=False),
        _timestamp("created"),
        _timestamp("started", nullable=True),
        _timestamp("ended", nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("namespace", "pipeline", "id", name=op.f("pk_runs")),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline", "version"],
            ["versions.namespace", "versions.pipeline", "versions.version"],
            name=op.f("fk_runs_versions"),
        ),
    )
    op.create_index(op.f("ix_runs_state"), "runs", ["state"])
    op.create_table(
        "task_executions",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("pipeline", sa.String(NAME), nullable=False),
        sa.Column("run", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("task", sa.String(NAME), nullable=False),
        sa.Column("attempt", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_reason(),
        _timestamp("created"),
        _timestamp("queued", nullable=True),
        _timestamp("started", nullable=True),
        _timestamp("ended", nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("container", sa.String(255), nullable=True),
        sa.Column("image_digest", sa.String(255), nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        _timestamp("lease_expires", nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "namespace", "pipeline", "run", "task", "attempt", name=op.f("pk_task_executions")
        ),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline", "run"],
            ["runs.namespace", "runs.pipeline", "runs.id"],
            name=op.f("fk_task_executions_runs"),
        ),
    )
    op.create_index(op.f("ix_task_executions_state"), "task_executions", ["state"])
    op.bulk_insert(
        namespaces,
        [
            {
                "name": "default",
                "description": "The default namespace",
                "created": datetime.datetime.now(datetime.UTC),
            }
        ],
    )


def downgrade() -> None:
    """Drop every table (and with them all of Hostler's state)."""
    op.drop_index(op.f("ix_task_executions_state"), table_name="task_executions")
    op.drop_table("task_executions")
    op.drop_index(op.f("ix_runs_state"), table_name="runs")
    op.drop_table("runs")
    op.drop_table("versions")
    op.drop_table("pipelines")
    op.drop_table("namespaces")
