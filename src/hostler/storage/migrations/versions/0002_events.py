"""Create the append-only event log.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63


def upgrade() -> None:
    """Create ``events``, whose ids are never reused (AUTOINCREMENT on SQLite), and its indexes."""
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(NAME), nullable=True),
        sa.Column("pipeline", sa.String(NAME), nullable=True),
        sa.Column("run", sa.Integer, nullable=True),
        sa.Column("task", sa.String(NAME), nullable=True),
        sa.Column("attempt", sa.Integer, nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_events_time"), "events", ["time"])
    op.create_index(op.f("ix_events_kind"), "events", ["kind"])
    op.create_index(
        op.f("ix_events_namespace_pipeline_run"), "events", ["namespace", "pipeline", "run"]
    )


def downgrade() -> None:
    """Drop the event log."""
    op.drop_index(op.f("ix_events_namespace_pipeline_run"), table_name="events")
    op.drop_index(op.f("ix_events_kind"), table_name="events")
    op.drop_index(op.f("ix_events_time"), table_name="events")
    op.drop_table("events")
