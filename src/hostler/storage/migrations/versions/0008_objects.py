"""Keep objects (a pipeline's, or one run's, by key) and tie run tokens to their run.

Revision ID: 0008
Revises: 0007
Create Date: 2025-07-01 00:00:00
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 63
OBJECT_KEY = 128


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``objects``, empty, with its index in eviction order; add ``tokens.run_ref``
    (NULL for the tokens stored already, none of which is a run token)."""
    op.create_table(
        "objects",
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("pipeline", sa.String(NAME), nullable=False),
        sa.Column("run", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("key", sa.String(OBJECT_KEY), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        _timestamp("created"),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "pipeline", "run", "key", name=op.f("pk_objects")),
        sa.ForeignKeyConstraint(
            ["namespace", "pipeline"],
            ["pipelines.namespace", "pipelines.id"],
            name=op.f("fk_objects_pipelines"),
        ),
    )
    op.create_index(
        op.f("ix_objects_namespace_pipeline_run_created"),
        "objects",
        ["namespace", "pipeline", "run", "created"],
    )
    # Added in place (ALTER TABLE ADD COLUMN and CREATE INDEX on SQLite too): no rebuild needed.
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("run_ref", sa.String(255), nullable=True))
        batch.create_index(op.f("ix_tokens_run_ref"), ["run_ref"])


def downgrade() -> None:
    """Delete the run tokens, drop ``tokens.run_ref`` and the objects."""
    # Without their run they would be plain tokens that no run's end deletes any more.
    tokens = sa.table("tokens", sa.column("run_ref", sa.String(255)))
    op.execute(tokens.delete().where(tokens.c.run_ref.is_not(None)))
    with op.batch_alter_table("tokens") as batch:
        batch.drop_index(op.f("ix_tokens_run_ref"))
        batch.drop_column("run_ref")
    op.drop_index(op.f("ix_objects_namespace_pipeline_run_created"), table_name="objects")
    op.drop_table("objects")
