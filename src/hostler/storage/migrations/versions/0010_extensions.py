"""Keep the extensions installed from images (``hostler extension install``), by name.

Revision ID: 0010
Revises: 0009
Create Date: 2025-07-22 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63


def upgrade() -> None:
    """Create ``extensions``, empty."""
    op.create_table(
        "extensions",
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("image", sa.Text, nullable=False),
        sa.Column("image_id", sa.String(255), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("pin", sa.Integer, nullable=True),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("installed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("installed_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_extensions")),
    )


def downgrade() -> None:
    """Drop the extensions installed from images: the server no longer knows them (their
    images stay on the engine)."""
    op.drop_table("extensions")
