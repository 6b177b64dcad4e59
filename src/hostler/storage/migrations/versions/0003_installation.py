"""Name the installation: one random id per database, shared by every server that uses it.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``installation`` holding its one row."""
    table = op.create_table(
        "installation",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    now = datetime.datetime.now(datetime.UTC)
    op.bulk_insert(table, [{"id": uuid.uuid4().hex[:12], "created": now}])


def downgrade() -> None:
    """Drop ``installation``."""
    op.drop_table("installation")
