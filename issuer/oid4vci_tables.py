"""Tables of OpenID4VCI issuance: offers, access tokens, nonces, deferred transactions.

No secret is stored in the clear: pre-authorized codes, ``tx_code`` PINs, access tokens, nonces,
``credential_offer_uri`` references, transaction and notification ids are kept as SHA-256 hashes
(the PIN hashed with the pre-authorized code, which is itself never stored, so a stolen table
cannot be brute-forced offline). Single use is a conditional UPDATE (``... WHERE redeemed_at IS
NULL``) or a primary-key INSERT, so two concurrent redemptions cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


class CredentialOffer(SQLModel, table=True):
    """One credential offer (OpenID4VCI 1.0 §4.1) with its pre-authorized code grant (§3.5)."""

    __tablename__ = "credential_offer"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(unique=True, max_length=64)  # SHA-256 of the pre-authorized code
    reference_hash: str | None = Field(default=None, unique=True, max_length=64)  # offer_uri token
    reference_fetched_at: datetime | None = None
    tx_code_hash: str | None = Field(default=None, max_length=64)  # SHA-256(code ":" PIN)
    tx_code_length: int | None = None
    tx_code_attempts: int = 0
    configuration_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the award to issue
    batch_row_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("batch_row.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    actor: str = Field(max_length=200)  # who made the offer (audit)
    expires_at: datetime
    redeemed_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now)


class AccessToken(SQLModel, table=True):
    """An access token from the token endpoint (OpenID4VCI 1.0 §6.2), optionally DPoP-bound."""

    __tablename__ = "oid4vci_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    offer_id: str = Field(
        sa_column=Column(
            Text, ForeignKey("credential_offer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    dpop_jkt: str | None = Field(default=None, max_length=64)  # RFC 9449 §6: JWK thumbprint
    expires_at: datetime
    created_at: datetime = Field(default_factory=_now)


class Nonce(SQLModel, table=True):
    """A ``c_nonce`` (§7) until used, or a used DPoP ``jti`` (RFC 9449 §11.1) until it expires."""

    __tablename__ = "oid4vci_nonce"

    value_hash: str = Field(primary_key=True, max_length=64)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=16)  # "c_nonce" | "dpop_jti"
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None


class Transaction(SQLModel, table=True):
    """A deferred issuance (§9): the request is kept until the credential can be signed."""

    __tablename__ = "oid4vci_transaction"

    id_hash: str = Field(primary_key=True, max_length=64)  # SHA-256 of the transaction_id
    offer_id: str = Field(
        sa_column=Column(
            Text, ForeignKey("credential_offer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    configuration_id: str = Field(max_length=100)
    holder_jwks: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16)  # pending | issued | denied
    created_at: datetime = Field(default_factory=_now)


class Notification(SQLModel, table=True):
    """One configuration of an offer being issued (at most once: the unique constraint decides
    between concurrent requests), what it issued, and what the wallet said about it (§11)."""

    __tablename__ = "oid4vci_notification"
    __table_args__ = (UniqueConstraint("offer_id", "configuration_id"),)

    id: int | None = Field(default=None, primary_key=True)
    id_hash: str = Field(unique=True, max_length=64)  # SHA-256 of the notification_id
    offer_id: str = Field(
        sa_column=Column(
            Text, ForeignKey("credential_offer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    configuration_id: str = Field(max_length=100)
    credential_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    event: str | None = Field(default=None, max_length=32)
    event_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
