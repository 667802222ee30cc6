"""wallet deferred credentials that can be resumed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_pending_credential",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("learner_id", sa.Text(), nullable=False),
        sa.Column("credential_issuer", sqlmodel.AutoString(length=2000), nullable=False),
        sa.Column("configuration_id", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("format", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("deferred_endpoint", sqlmodel.AutoString(length=2000), nullable=False),
        sa.Column("notification_endpoint", sqlmodel.AutoString(length=2000), nullable=True),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("wallet_pending_credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_pending_credential_learner_id"), ["learner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_pending_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_pending_credential_learner_id"))

    op.drop_table("wallet_pending_credential")
