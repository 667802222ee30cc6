"""The issuer's tables. Table models never reach the API: ``issuer/models.py`` has the public ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


class Institution(SQLModel, table=True):
    """An issuing organisation (tenant)."""

    __tablename__ = "issuer"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=63)
    did: str = Field(max_length=500)
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # IssuerProfile fields
    seal_chain_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=_now)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    prefix: str = Field(unique=True, max_length=16)
    secret_hash: str = Field(max_length=64)  # SHA-256 hex of the random secret
    name: str = Field(max_length=200)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    revoked_at: datetime | None = None


class AchievementRow(SQLModel, table=True):
    __tablename__ = "achievement"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # AchievementSpec
    created_at: datetime = Field(default_factory=_now)


class IssuedCredential(SQLModel, table=True):
    """One award, with every format exactly as signed (never re-serialised)."""

    __tablename__ = "issued_credential"
    # The unique index leads with issuer_id and serves the issuer's queries: a second index on
    # issuer_id alone lured the planner, on stale statistics, into filtering every credential
    # of the issuer for an idempotency lookup (bulk issuance slowed as the table grew).
    __table_args__ = (UniqueConstraint("issuer_id", "idempotency_key"),)

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    issuer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False)
    )
    achievement_id: str = Field(
        sa_column=Column(Text, ForeignKey("achievement.id"), nullable=False, index=True)
    )
    recipient_key: str = Field(index=True, max_length=400)  # email / DID / student number
    award: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # Award as issued
    documents: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))  # format -> text
    status: str = Field(default="active", max_length=16)  # active | suspended | revoked
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=_now)
    revoked_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    """Append-only: who did what, when (the one audit writer is ``issuer.audit.record``)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    actor: str = Field(max_length=200)  # "operator" or "api_key:<prefix>"
    action: str = Field(max_length=64)
    subject: str | None = Field(default=None, max_length=500)
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=_now, index=True)


class StatusList(SQLModel, table=True):
    """A published status list: W3C Bitstring (one purpose) or IETF Token Status List.

    The bits are never stored here: they are the rows of ``status_entry``, changed one UPDATE at a
    time. ``version`` moves on every change; the signed ``document`` is rebuilt from the rows when
    ``published_version`` lags behind, so concurrent revocations can never lose an update.
    """

    __tablename__ = "status_list"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=16)  # "bitstring" | "token"
    purpose: str = Field(max_length=32)  # revocation | suspension | message | status (token)
    size: int  # number of entries
    status_size: int = 1  # bits per entry
    used: int = 0
    version: int = 1
    published_version: int = 0
    document: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    document_jwt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    valid_until: datetime | None = None
    created_at: datetime = Field(default_factory=_now)


class StatusEntry(SQLModel, table=True):
    __tablename__ = "status_entry"
    __table_args__ = (UniqueConstraint("list_id", "position"),)  # also the index on list_id

    id: int | None = Field(default=None, primary_key=True)
    list_id: str = Field(
        sa_column=Column(Text, ForeignKey("status_list.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    credential_id: str = Field(
        sa_column=Column(
            Text, ForeignKey("issued_credential.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    value: int = 0


class SealCertificate(SQLModel, table=True):
    """A seal certificate the configured CA issued: what its CRL and OCSP responder answer for
    (``issuer/seal_ca.py``). A revoked one keeps its row: a CRL lists it until it expires."""

    __tablename__ = "seal_certificate"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    serial: str = Field(unique=True, max_length=64)  # hex, as RFC 5280 §4.1.2.2 allows 20 octets
    issued_at: datetime = Field(default_factory=_now)
    not_after: datetime
    revoked_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=32)  # RFC 5280 §5.3.1 CRLReason name


class SealCrl(SQLModel, table=True):
    """The seal CA's current CRL, one row per CA (``issuer/seal_ca.py``). ``version`` moves with
    each revocation, in the revocation's transaction; the stored CRL is the one of
    ``published_version``, numbered ``number`` (RFC 5280 §5.2.3: one more than the last)."""

    __tablename__ = "seal_crl"

    ca: str = Field(primary_key=True, max_length=64)  # SHA-256 of the CA certificate, hex
    version: int = 0
    number: int = Field(sa_column=Column(BigInteger, nullable=False))
    published_version: int = -1
    this_update: datetime | None = None  # its nextUpdate is CRL_LIFETIME later
    der: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
