"""Keep API tokens (the digest of their secret, never the secret) and the roles admins make.

Revision ID: 0006
Revises: 0005
Create Date: 2025-05-01 00:00:00
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``tokens`` and ``roles``, both empty."""
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(12), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        _timestamp("created"),
        sa.Column("created_by", sa.String(255), nullable=False),
        _timestamp("expires", nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_tokens_name")),
    )
    op.create_table(
        "roles",
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("grants", sa.Text, nullable=False),
        _timestamp("created"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_roles")),
    )


def downgrade() -> None:
    """Drop the roles and the tokens."""
    op.drop_table("roles")
    op.drop_table("tokens")
