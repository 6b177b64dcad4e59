"""Keep the subscriptions made by hand (``hostler pipeline subscribe``), a pipeline's by key.

Revision ID: 0009
Revises: 0008
Create Date: 2025-07-15 00:00:00
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``subscriptions``, empty."""
    op.create_table(
        "subscriptions",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("pipeline", sa.String(NAME), nullable=False),
        sa.Column("key", sa.String(NAME), nullable=False),
        sa.Column("extension", sa.String(NAME), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        _timestamp("created"),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "pipeline", "key", name=op.f("pk_subscriptions")),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline"],
            ["pipelines.namespace", "pipelines.id"],
            name=op.f("fk_subscriptions_pipelines"),
        ),
    )


def downgrade() -> None:
    """Drop the subscriptions made by hand: their pipelines no longer subscribe to them."""
    op.drop_table("subscriptions")
