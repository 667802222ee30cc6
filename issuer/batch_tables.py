"""Tables of bulk issuance: a ``batch`` (one uploaded file) and its ``batch_row``s (one award each).

A row moves ``pending -> running -> done | failed``; rows that did not validate are stored as
``invalid`` with their errors and never run. A worker claims rows by setting ``running`` with a
lease (``lease_owner``, ``lease_expires_at``); a row whose lease expired is claimed again. A row
becomes ``done`` in the same transaction that stores its credential, and its credential is found
through ``idempotency_key`` (unique per issuer in ``issued_credential``), so there is no window in
which a credential exists and its row does not say so.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

PENDING, RUNNING, DONE, FAILED, INVALID = "pending", "running", "done", "failed", "invalid"
ROW_STATES = (PENDING, RUNNING, DONE, FAILED, INVALID)
# The rows a worker may claim, as SQL: the partial index and the claim query say it alike (a
# planner uses a partial index only where the query's condition implies the index's, literally).
OPEN_ROWS = f"state IN ('{PENDING}', '{RUNNING}')"


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


class Batch(SQLModel, table=True):
    """One uploaded file of recipients for one achievement, issued as ``formats``."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("issuer_id", "idempotency_key"),)  # also on issuer_id

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    issuer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False)
    )
    achievement_id: str = Field(
        sa_column=Column(Text, ForeignKey("achievement.id"), nullable=False)
    )
    name: str | None = Field(default=None, max_length=200)
    formats: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # Who created it: the worker issues every row as this caller (actor, institution, scopes).
    actor: str = Field(max_length=200)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    total: int  # records in the file, valid or not
    invalid: int
    created_at: datetime = Field(default_factory=_now)


class BatchRow(SQLModel, table=True):
    __tablename__ = "batch_row"
    __table_args__ = (
        UniqueConstraint("batch_id", "row"),  # also the index on batch_id
        # The rows left to claim, in claim order: the claim walks these, not the done ones.
        Index(
            "ix_batch_row_open",
            "id",
            postgresql_where=text(OPEN_ROWS),
            sqlite_where=text(OPEN_ROWS),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(
        sa_column=Column(Text, ForeignKey("batch.id", ondelete="CASCADE"), nullable=False)
    )
    row: int  # the record's first line in the file (a spreadsheet's row number)
    row_key: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: str = Field(default=PENDING, max_length=16, index=True)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = None
    attempts: int = 0
    errors: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )  # invalid rows: [{"field", "message"}]
    error_code: str | None = Field(default=None, max_length=64)  # failed rows
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    finished_at: datetime | None = None
