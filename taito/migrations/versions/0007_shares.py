"""wallet share links and their access log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("learner_id", sa.Text(), nullable=False),
        sa.Column("token_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("label", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_hash", sqlmodel.AutoString(length=255), nullable=True),
        sa.Column("max_views", sa.Integer(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("share", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_learner_id"), ["learner_id"], unique=False)

    op.create_table(
        "share_access",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("share_id", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("agent", sqlmodel.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["share_id"], ["share.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("share_access", schema=None) as batch_op:
        batch_op.create_index("ix_share_access_share_at", ["share_id", "at"], unique=False)

    op.create_table(
        "share_credential",
        sa.Column("share_id", sa.Text(), nullable=False),
        sa.Column("credential_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reveal", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["wallet_credential.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["share_id"], ["share.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("share_id", "credential_id"),
    )
    with op.batch_alter_table("share_credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_credential_credential_id"), ["credential_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("share_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_credential_credential_id"))

    op.drop_table("share_credential")
    with op.batch_alter_table("share_access", schema=None) as batch_op:
        batch_op.drop_index("ix_share_access_share_at")

    op.drop_table("share_access")
    with op.batch_alter_table("share", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_learner_id"))

    op.drop_table("share")
