"""Keep secrets: values encrypted under a named key, a pipeline's or global.

Revision ID: 0007
Revises: 0006
Create Date: 2025-06-01 00:00:00
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63
SECRET_NAME = 128


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``secrets``, empty."""
    op.create_table(
        "secrets",
        sa.Column("place", sa.String(2 * NAME + 1), nullable=False),
        sa.Column("name", sa.String(SECRET_NAME), nullable=False),
        sa.Column("namespace", sa.String(NAME), nullable=True),
        sa.Column("pipeline", sa.String(NAME), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("key", sa.String(16), nullable=False),
        sa.Column("namespaces", sa.Text, nullable=False),
        _timestamp("created"),
        _timestamp("updated"),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("place", "name", name=op.f("pk_secrets")),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline"],
            ["pipelines.namespace", "pipelines.id"],
            name=op.f("fk_secrets_pipelines"),
        ),
        sa.CheckConstraint(
            "(namespace IS NULL) = (pipeline IS NULL)"
            " AND place = COALESCE(namespace || '/' || pipeline, '')",
            name=op.f("ck_secrets_place"),
        ),
    )


def downgrade() -> None:
    """Drop the secrets, and their values with them."""
    op.drop_table("secrets")
