"""The wallet's figures for the operator's ``GET /metrics`` (prometheus_client's default registry,
which ``taito.metrics`` exposes): sign-ins and registrations by outcome, and refresh tokens
presented again. A rise in failed or refused sign-ins is credential stuffing or guessing; a
reused refresh token is a stolen one (or a client that lost track of its rotation). No label
names an account or an address.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter

SIGN_INS = Counter(
    "taito_wallet_sign_ins",
    "Wallet sign-ins by outcome: succeeded, failed (wrong address or password), "
    "rate_limited (refused before the password was checked)",
    ["outcome"],
)
REGISTRATIONS = Counter(
    "taito_wallet_registrations",
    "Wallet registrations by outcome: created, address_taken, rate_limited",
    ["outcome"],
)
REFRESH_REUSE = Counter(
    "taito_wallet_refresh_token_reuse",
    "Refresh tokens presented after they were spent or revoked; each ends its whole sign-in",
)

SignIn = Literal["succeeded", "failed", "rate_limited"]
Registration = Literal["created", "address_taken", "rate_limited"]


def sign_in(outcome: SignIn) -> None:
    SIGN_INS.labels(outcome).inc()


def registration(outcome: Registration) -> None:
    REGISTRATIONS.labels(outcome).inc()
