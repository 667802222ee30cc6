"""Key store: sealed private keys per owner.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("kid", sqlmodel.AutoString(length=2048), nullable=False),
        sa.Column("key_type", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("algorithm", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("sealed_private", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kid"),
    )
    op.create_index("ix_key_owner", "key", ["owner"])
    op.create_index("ix_key_active", "key", ["active"])


def downgrade() -> None:
    op.drop_index("ix_key_active", table_name="key")
    op.drop_index("ix_key_owner", table_name="key")
    op.drop_table("key")
