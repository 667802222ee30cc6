"""What the verifier keeps only for a while (``taito housekeeping`` deletes it).

An OpenID4VP request's row holds its result: the claims a learner disclosed to the relying
party. The relying party reads it within minutes of the answer; the row goes ``retention`` after
the request expired (GDPR Art. 5(1)(e), storage limitation). Reading it after that is a 404, as
for any unknown request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col

from verifier.oid4vp_tables import PresentationRequest


def expired(now: datetime, retention: timedelta) -> dict[str, tuple[Any, Any]]:
    """Name -> (table, condition on its rows), in the order to delete them."""
    return {
        "verifier: OpenID4VP requests and their results": (
            PresentationRequest,
            col(PresentationRequest.expires_at) < now - retention,
        ),
    }
