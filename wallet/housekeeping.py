"""What the wallet keeps only for a while (``taito housekeeping`` deletes it).

Each kind goes ``retention`` after it stopped being of use: a refresh token after it expired
(rotated and revoked ones included: a replay of one that old is refused as unknown, and its
family has long expired with it), a mailed one-time token after it expired, a mail after it was
sent (its body carries the one-time code or link). A mail not yet sent stays: the sender retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col

from wallet.tables import EmailToken, OutboxMail, RefreshToken


def expired(now: datetime, retention: timedelta) -> dict[str, tuple[Any, Any]]:
    """Name -> (table, condition on its rows), in the order to delete them."""
    cutoff = now - retention
    return {
        "wallet: refresh tokens": (RefreshToken, col(RefreshToken.expires_at) < cutoff),
        "wallet: mailed one-time tokens": (EmailToken, col(EmailToken.expires_at) < cutoff),
        "wallet: sent mail": (OutboxMail, col(OutboxMail.sent_at) < cutoff),
    }
