"""the learner's wallet: accounts, refresh tokens, email tokens, outbox, login attempts, credentials

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learner",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("email", sqlmodel.AutoString(length=320), nullable=False),
        sa.Column("display_name", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("password_hash", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("account", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("client", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_account_at", ["account", "at"], unique=False)
        batch_op.create_index("ix_login_attempt_client_at", ["client", "at"], unique=False)

    op.create_table(
        "email_token",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("learner_id", sa.Text(), nullable=False),
        sa.Column("token_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.AutoString(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("email_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_token_learner_id"), ["learner_id"], unique=False)

    op.create_table(
        "outbox_mail",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("learner_id", sa.Text(), nullable=True),
        sa.Column("to_address", sqlmodel.AutoString(length=320), nullable=False),
        sa.Column("subject", sqlmodel.AutoString(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_mail_learner_id"), ["learner_id"], unique=False)

    op.create_table(
        "refresh_token",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("learner_id", sa.Text(), nullable=False),
        sa.Column("family_id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("token_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_token_family_id"), ["family_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_refresh_token_learner_id"), ["learner_id"], unique=False
        )

    op.create_table(
        "wallet_credential",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("learner_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("format", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("container", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("source", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("issuer_id", sqlmodel.AutoString(length=2048), nullable=True),
        sa.Column("issuer_name", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("name", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("accepted_unverified", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("learner_id", "content_hash"),
    )
    with op.batch_alter_table("wallet_credential", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_credential_learner_added", ["learner_id", "added_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_wallet_credential_learner_search",
            ["learner_id", "search_text", "added_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_credential", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_credential_learner_search")
        batch_op.drop_index("ix_wallet_credential_learner_added")

    op.drop_table("wallet_credential")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_token_learner_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_token_family_id"))

    op.drop_table("refresh_token")
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_mail_learner_id"))

    op.drop_table("outbox_mail")
    with op.batch_alter_table("email_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_token_learner_id"))

    op.drop_table("email_token")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_client_at")
        batch_op.drop_index("ix_login_attempt_account_at")

    op.drop_table("login_attempt")
    op.drop_table("learner")
