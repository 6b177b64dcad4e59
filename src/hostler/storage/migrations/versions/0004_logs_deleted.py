"""Record when a run's task logs were deleted (by retention or on request).

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``runs.logs_deleted``."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("logs_deleted", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop ``runs.logs_deleted``."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("logs_deleted")
