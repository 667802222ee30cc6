"""The verifier's OpenID4VP table: one row per authorization request and its result.

``nonce`` and ``state`` are public by design (they travel in the request); the relying party's
read token and the redirect's ``response_code`` are secrets and stored as SHA-256 hashes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


class PresentationRequest(SQLModel, table=True):
    __tablename__ = "presentation_request"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    client_id: str = Field(max_length=2000)
    client_id_prefix: str = Field(max_length=32)  # redirect_uri | decentralized_identifier | ...
    nonce: str = Field(max_length=64)
    state: str = Field(max_length=64)
    response_uri: str = Field(max_length=2000)
    dcql_query: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    request_object: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    read_token_hash: str = Field(max_length=64)
    redirect_uri: str | None = Field(default=None, max_length=2000)  # the RP's, after a response
    response_code_hash: str | None = Field(default=None, max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending | verified | failed
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    expires_at: datetime
    responded_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
