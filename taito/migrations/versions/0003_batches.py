"""batches: bulk issuance jobs (batch, batch_row)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Text(), nullable=False),
        sa.Column("name", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("actor", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("request_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "idempotency_key"),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "batch_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("row_key", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("idempotency_key", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("lease_owner", sqlmodel.AutoString(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("error_code", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "row"),
    )
    with op.batch_alter_table("batch_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_row_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_row_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("batch_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_row_state"))
        batch_op.drop_index(batch_op.f("ix_batch_row_batch_id"))

    op.drop_table("batch_row")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_issuer_id"))

    op.drop_table("batch")
