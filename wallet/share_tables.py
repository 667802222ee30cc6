"""Tables of share links: ``share`` (one link), ``share_credential`` (what it shows) and
``share_access`` (its access log). Table models never reach the API (``wallet/share_models.py``).

A share belongs to a learner (``learner_id``, erased with the account); its credential rows and
access log point at it (``ON DELETE CASCADE``) and go with it. The link's token is stored only as
its SHA-256; the password only as an argon2id hash. The access log keeps a time, an outcome and a
coarse user agent ("Chrome on Android"): never an IP address or the full header.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from wallet.tables import learner_fk, new_id, utc_now

SHARE_KINDS = ("credentials", "skills")
ACCESS_OUTCOMES = ("view", "preview", "wrong_password", "rate_limited")


class Share(SQLModel, table=True):
    __tablename__ = "share"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    learner_id: str = learner_fk()
    token_hash: str = Field(unique=True, max_length=64)  # SHA-256 hex of the link's token
    kind: str = Field(default="credentials", max_length=16)  # credentials / skills
    label: str | None = Field(default=None, max_length=200)  # the learner's note: "for Acme"
    expires_at: datetime | None = None
    password_hash: str | None = Field(default=None, max_length=255)  # argon2id PHC string
    max_views: int | None = None
    views: int = 0
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    def __repr__(self) -> str:  # never show the token hash or the password hash
        return f"Share(id={self.id!r})"


class ShareCredential(SQLModel, table=True):
    """One credential of a share; ``reveal`` lists the SD-JWT claims shown (None: all)."""

    __tablename__ = "share_credential"

    share_id: str = Field(
        sa_column=Column(
            Text, ForeignKey("share.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    credential_id: str = Field(
        sa_column=Column(
            Text,
            ForeignKey("wallet_credential.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
            index=True,
        )
    )
    position: int = 0
    reveal: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ShareAccess(SQLModel, table=True):
    """One opening of a share link (or a refused password): no IP address is stored."""

    __tablename__ = "share_access"
    __table_args__ = (Index("ix_share_access_share_at", "share_id", "at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    share_id: str = Field(
        sa_column=Column(Text, ForeignKey("share.id", ondelete="CASCADE"), nullable=False)
    )
    at: datetime = Field(default_factory=utc_now)
    outcome: str = Field(max_length=16)  # view / preview / wrong_password / rate_limited
    agent: str = Field(default="Unknown", max_length=64)  # coarse: "Firefox on Windows"
