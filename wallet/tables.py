"""The wallet's tables. Table models never reach the API: ``wallet/models.py`` has the public ones.

Every row that belongs to a learner carries a ``learner_id`` column (a foreign key to
``learner.id``, ``ON DELETE CASCADE``): account erasure (``wallet/erasure.py``) asks the database
for every table with that column, so a table added later is erased without being listed anywhere.
Ids are UUID strings (``learner.id`` and ``wallet_credential.id`` appear in URLs); internal log
rows (login attempts, mail) use them too, for one kind of id across the package.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

LEARNER_COLUMN = "learner_id"


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def learner_fk(*, index: bool = True, nullable: bool = False) -> Any:
    """The ``learner_id`` column of a learner-owned table (erased with the learner)."""
    return Field(
        sa_column=Column(
            Text,
            ForeignKey("learner.id", ondelete="CASCADE"),
            nullable=nullable,
            index=index,
        )
    )


class Learner(SQLModel, table=True):
    """A wallet account. ``wrapped_data_key`` is the learner's AES-256 data key sealed by the
    master key: destroying it (account deletion) makes every stored credential unreadable."""

    __tablename__ = "learner"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    email: str = Field(unique=True, max_length=320)  # normalised: stripped, lower-case
    display_name: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=255)  # argon2id PHC string
    wrapped_data_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    email_verified_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)

    def __repr__(self) -> str:  # never show the hash or the wrapped key
        return f"Learner(id={self.id!r})"

    @property
    def key_owner(self) -> str:
        """The owner name of this learner's holder keys in the ``key`` table."""
        return f"learner:{self.id}"


class RefreshToken(SQLModel, table=True):
    """An opaque refresh token, stored as its SHA-256. Each use rotates it within its family; a
    second use of a rotated token revokes the family (RFC 9700 §4.14.2)."""

    __tablename__ = "refresh_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    learner_id: str = learner_fk()
    family_id: str = Field(index=True, max_length=36)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    used_at: datetime | None = None  # rotated: a new token replaced this one
    revoked_at: datetime | None = None


class EmailToken(SQLModel, table=True):
    """A one-time mailed token, stored as its SHA-256: ``purpose`` is ``verify`` (the address
    belongs to the learner) or ``reset`` (a forgotten password)."""

    __tablename__ = "email_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    learner_id: str = learner_fk()
    token_hash: str = Field(unique=True, max_length=64)
    purpose: str = Field(
        default="verify", max_length=16, sa_column_kwargs={"server_default": "verify"}
    )
    email: str = Field(max_length=320)  # the address the token proves
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    used_at: datetime | None = None


class OutboxMail(SQLModel, table=True):
    """A mail to send: written in the same transaction as what caused it, sent afterwards."""

    __tablename__ = "outbox_mail"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    learner_id: str | None = learner_fk(nullable=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utc_now)
    sent_at: datetime | None = None
    attempts: int = 0


class LoginAttempt(SQLModel, table=True):
    """Failed logins, per account (SHA-256 of the normalised email) and per client address, so
    the rate limit holds across processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account_at", "account", "at"),
        Index("ix_login_attempt_client_at", "client", "at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account: str = Field(max_length=64)
    client: str = Field(max_length=64)
    at: datetime = Field(default_factory=utc_now)


class WalletCredential(SQLModel, table=True):
    """One credential as received (``ciphertext``: AES-256-GCM under the learner's data key, AAD
    bound to learner and credential ids) and its searchable metadata in plain columns."""

    __tablename__ = "wallet_credential"
    __table_args__ = (
        UniqueConstraint("learner_id", "content_hash"),
        # The list pages newest first from this index alone (id breaks ties).
        Index("ix_wallet_credential_learner_added", "learner_id", "added_at", "id"),
        # Search reads this narrow, covering index instead of rows that carry the encrypted blob.
        Index("ix_wallet_credential_learner_search", "learner_id", "search_text", "added_at", "id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    learner_id: str = learner_fk(index=False)
    content_hash: str = Field(max_length=64)  # SHA-256 hex of the credential (duplicates)
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    media_type: str = Field(max_length=100)  # as received: application/json, image/png, ...
    size: int
    format: str = Field(max_length=32)  # ldp_vc, jwt_vc, dc+sd-jwt, jades, ...
    container: str | None = Field(default=None, max_length=16)  # png / svg for baked badges
    source: str = Field(default="upload", max_length=32)  # upload, import, openid4vci
    issuer_id: str | None = Field(default=None, max_length=2048)
    issuer_name: str | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=500)  # achievement / credential name
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    issued_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    skills: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    verified: bool = Field(sa_column=Column(Boolean, nullable=False))
    accepted_unverified: bool = False
    status: str = Field(default="unknown", max_length=32)  # valid, revoked, suspended, ...
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    added_at: datetime = Field(default_factory=utc_now)
    checked_at: datetime = Field(default_factory=utc_now)

    def __repr__(self) -> str:
        return f"WalletCredential(id={self.id!r}, format={self.format!r})"
