"""The one audit writer: every issue, revoke, key and API-key action leaves a row."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from issuer.context import Caller
from issuer.tables import AuditEvent


def record(
    session: Session,
    caller: Caller,
    issuer_id: int,
    action: str,
    subject: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit row to the caller's transaction (it commits, or vanishes, with the change)."""
    event = AuditEvent(
        issuer_id=issuer_id,
        actor=caller.actor,
        action=action,
        subject=subject,
        details=details,
        request_id=caller.request_id,
    )
    session.add(event)
    return event


def events(
    session: Session, issuer_id: int, *, limit: int = 100, before: int | None = None
) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.issuer_id == issuer_id)
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    return list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)))
