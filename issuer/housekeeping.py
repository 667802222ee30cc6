"""What the issuer keeps only for a while (``taito housekeeping`` deletes or clears it).

OpenID4VCI records go ``retention`` after they expired: access tokens, nonces, and credential
offers, whose ``request`` holds the award to issue (the learner's name, the achievement). An
offer with a deferred issuance still pending stays until the issuance ends (OpenID4VCI 1.0 §9:
the credential is signed from it later); its tokens, transactions and notifications go with it.
A batch row's ``request`` (the same award, from the registrar's file) is cleared ``retention``
after the row was issued; the row stays, as the batch's report (state, credential id) reads it,
and a failed row keeps its award to be retried. Issued credentials, status lists and the audit
trail are records, never deleted here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, null, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from issuer.batch_tables import DONE, BatchRow
from issuer.oid4vci_tables import AccessToken, CredentialOffer, Nonce, Notification, Transaction


def expired(now: datetime, retention: timedelta) -> dict[str, tuple[Any, Any]]:
    """Name -> (table, condition on its rows), in the order to delete them (an offer's rows
    before the offer: they refer to it)."""
    cutoff = now - retention
    # an alias, correlated to the offer only: the rule for transactions below selects from the
    # same table, and this must never mean the row being deleted
    waiting = aliased(Transaction)
    pending = (
        exists()
        .where(col(waiting.offer_id) == col(CredentialOffer.id), col(waiting.state) == "pending")
        .correlate(CredentialOffer)
    )
    stale_offer = and_(col(CredentialOffer.expires_at) < cutoff, ~pending)
    stale_offers = select(col(CredentialOffer.id)).where(stale_offer)
    return {
        "issuer: OpenID4VCI access tokens": (
            AccessToken,
            or_(col(AccessToken.expires_at) < cutoff, col(AccessToken.offer_id).in_(stale_offers)),
        ),
        "issuer: OpenID4VCI nonces": (Nonce, col(Nonce.expires_at) < cutoff),
        "issuer: OpenID4VCI deferred issuances": (
            Transaction,
            col(Transaction.offer_id).in_(stale_offers),
        ),
        "issuer: OpenID4VCI notifications": (
            Notification,
            col(Notification.offer_id).in_(stale_offers),
        ),
        "issuer: OpenID4VCI credential offers": (CredentialOffer, stale_offer),
    }


def cleared(now: datetime, retention: timedelta) -> dict[str, tuple[Any, Any, dict[str, Any]]]:
    """Name -> (table, condition on its rows, the columns to clear in them)."""
    issued = and_(
        col(BatchRow.state) == DONE,
        col(BatchRow.finished_at) < now - retention,
        col(BatchRow.request).is_not(None),
    )
    # null(): SQL NULL, which the condition tests (the JSON type would store None as JSON null)
    return {"issuer: awards in issued batch rows": (BatchRow, issued, {"request": null()})}
