"""OpenID4VCI offers, tokens, nonces, deferred transactions; OpenID4VP presentation requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presentation_request",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("client_id", sqlmodel.AutoString(length=2000), nullable=False),
        sa.Column("client_id_prefix", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("nonce", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("response_uri", sqlmodel.AutoString(length=2000), nullable=False),
        sa.Column("dcql_query", sa.JSON(), nullable=False),
        sa.Column("request_object", sa.Text(), nullable=True),
        sa.Column("read_token_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("redirect_uri", sqlmodel.AutoString(length=2000), nullable=True),
        sa.Column("response_code_hash", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "oid4vci_nonce",
        sa.Column("value_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("value_hash"),
    )
    with op.batch_alter_table("oid4vci_nonce", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oid4vci_nonce_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_oid4vci_nonce_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "credential_offer",
        sa.Column("id", sqlmodel.AutoString(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("reference_hash", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("reference_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tx_code_hash", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("tx_code_length", sa.Integer(), nullable=True),
        sa.Column("tx_code_attempts", sa.Integer(), nullable=False),
        sa.Column("configuration_ids", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("batch_row_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_row_id"], ["batch_row.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("reference_hash"),
    )
    with op.batch_alter_table("credential_offer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_offer_batch_row_id"), ["batch_row_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credential_offer_issuer_id"), ["issuer_id"], unique=False
        )

    op.create_table(
        "oid4vci_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("offer_id", sa.Text(), nullable=False),
        sa.Column("configuration_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("credential_ids", sa.JSON(), nullable=False),
        sa.Column("event", sqlmodel.AutoString(length=32), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["credential_offer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
        sa.UniqueConstraint("offer_id", "configuration_id"),
    )
    with op.batch_alter_table("oid4vci_notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oid4vci_notification_offer_id"), ["offer_id"], unique=False
        )

    op.create_table(
        "oid4vci_token",
        sa.Column("token_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("offer_id", sa.Text(), nullable=False),
        sa.Column("dpop_jkt", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["credential_offer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("oid4vci_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oid4vci_token_offer_id"), ["offer_id"], unique=False)

    op.create_table(
        "oid4vci_transaction",
        sa.Column("id_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("offer_id", sa.Text(), nullable=False),
        sa.Column("configuration_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("holder_jwks", sa.JSON(), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["credential_offer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("oid4vci_transaction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oid4vci_transaction_offer_id"), ["offer_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("oid4vci_transaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oid4vci_transaction_offer_id"))

    op.drop_table("oid4vci_transaction")
    with op.batch_alter_table("oid4vci_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oid4vci_token_offer_id"))

    op.drop_table("oid4vci_token")
    with op.batch_alter_table("oid4vci_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oid4vci_notification_offer_id"))

    op.drop_table("oid4vci_notification")
    with op.batch_alter_table("credential_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_offer_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_credential_offer_batch_row_id"))

    op.drop_table("credential_offer")
    with op.batch_alter_table("oid4vci_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oid4vci_nonce_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_oid4vci_nonce_expires_at"))

    op.drop_table("oid4vci_nonce")
    op.drop_table("presentation_request")
