"""The table of deferred credentials the wallet can resume (OpenID4VCI 1.0 §9).

A row belongs to a learner (``learner_id``, erased with the account). What resuming needs that is
secret - the ``transaction_id``, the access token and, for a DPoP-bound token, the DPoP private
key - is kept only encrypted with the learner's data key (``secret``, :mod:`wallet.envelope`);
the endpoints and the token's expiry are plain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from wallet.tables import learner_fk, new_id, utc_now


class PendingCredential(SQLModel, table=True):
    __tablename__ = "wallet_pending_credential"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    learner_id: str = learner_fk()
    credential_issuer: str = Field(max_length=2000)
    configuration_id: str = Field(max_length=200)
    format: str = Field(max_length=32)  # the configuration's format: dc+sd-jwt, ldp_vc, ...
    deferred_endpoint: str = Field(max_length=2000)
    notification_endpoint: str | None = Field(default=None, max_length=2000)
    secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    interval: int = 5  # seconds the issuer asked to wait between requests (§9.2)
    expires_at: datetime | None = None  # when the access token expires (RFC 6749 expires_in)
    created_at: datetime = Field(default_factory=utc_now)
    checked_at: datetime = Field(default_factory=utc_now)

    def __repr__(self) -> str:  # never show the encrypted secret
        return f"PendingCredential(id={self.id!r})"
