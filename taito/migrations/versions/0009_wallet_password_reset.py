"""wallet email tokens carry a purpose (email verification or password reset)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "purpose",
                sqlmodel.AutoString(length=16),
                nullable=False,
                server_default="verify",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("email_token", schema=None) as batch_op:
        batch_op.drop_column("purpose")
