"""What the wallet role needs from the composed app, and its FastAPI dependencies.

``taito.app.create_app`` builds one :class:`WalletContext` and puts it on ``app.state.wallet``;
the role never reads settings or the environment itself.

Dependencies for routes (every wallet router uses them)::

    WalletDep       the WalletContext
    SessionDep      a SQLModel Session on the wallet's engine (one per request)
    CurrentLearner  the Learner row of a valid access token (401 problem+json otherwise)

A route that touches learner data takes ``learner: CurrentLearner`` and filters every query by
``learner.id``; another learner's row is answered with 404, never 403, so ids do not leak.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from argon2 import PasswordHasher
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from keys.store import KeyStore, KeyVault
from verifier.context import VerifierContext
from wallet.errors import Unauthorized, WalletUnavailable
from wallet.tables import Learner, RefreshToken
from wallet.tokens import read_access_token


def utc_now() -> datetime:
    return datetime.now(UTC)


# "any": every client identifier prefix; "signed": request objects signed by a DID's or a
# certified key (no redirect_uri:); "x509": certified keys only, chained to the trust anchors
VerifierPolicy = Literal["any", "signed", "x509"]


@dataclass
class WalletContext:
    """Configuration and collaborators of the wallet (time and randomness are parameters)."""

    engine: Engine
    key_store: KeyStore | None
    verifier: VerifierContext
    token_secret: bytes | None  # HS256 secret of access tokens (derived from the master key)
    public_url: str
    # while the master key is rotated: the previous key's secret, whose tokens stay valid
    previous_token_secrets: tuple[bytes, ...] = ()
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    email_token_ttl: timedelta = timedelta(hours=48)
    # failed sign-ins in the window (wallet/accounts.py): an account's from one client address,
    # an account's from all of them, a client address's over all accounts
    login_max_failures_account_client: int = 5
    login_max_failures_account: int = 20
    login_max_failures_client: int = 20
    login_window: timedelta = timedelta(minutes=15)
    status_recheck_interval: timedelta = timedelta(hours=24)
    # which verifiers the wallet answers over OpenID4VP (wallet/oid4vp_responder.py)
    verifiers: VerifierPolicy = "any"
    smtp_url: str | None = None
    mail_from: str = "wallet@taito.invalid"
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)  # argon2id
    clock: Callable[[], datetime] = field(default=utc_now)
    random: Callable[[int], bytes] = field(default=os.urandom)

    @property
    def issuer(self) -> str:
        """The ``iss`` of access tokens: the wallet's base URL."""
        return self.public_url.rstrip("/") + "/wallet"

    def keys(self) -> KeyStore:
        if self.key_store is None:
            raise WalletUnavailable(
                "No master key is configured, so the wallet cannot store credentials or keys."
            )
        return self.key_store

    def vault(self) -> KeyVault:
        return self.keys().vault

    def secret(self) -> bytes:
        if self.token_secret is None:
            raise WalletUnavailable("No master key is configured, so the wallet cannot sign in.")
        return self.token_secret


async def get_wallet(request: Request) -> WalletContext:  # no I/O: stays on the event loop
    context: WalletContext = request.app.state.wallet
    return context


WalletDep = Annotated[WalletContext, Depends(get_wallet)]


def get_session(context: WalletDep) -> Iterator[Session]:
    with Session(context.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def learner_for_token(session: Session, context: WalletContext, token: str) -> Learner:
    """The learner an access token names (401 if the token is bad, expired or the account gone)."""
    claims = read_access_token(
        context.secret(),
        token,
        issuer=context.issuer,
        now=context.clock(),
        previous=context.previous_token_secrets,
    )
    learner = session.get(Learner, claims.learner_id)
    if learner is None:
        raise Unauthorized("The account of this access token no longer exists.")
    # The sign-in must still be live: sign-out, sign-out everywhere, a password change or a
    # reused refresh token revoke the family, and its access tokens with it (RFC 9700 §4.14.2).
    live = session.exec(
        select(RefreshToken.id)
        .where(
            RefreshToken.family_id == claims.session_id,
            RefreshToken.learner_id == learner.id,
            col(RefreshToken.revoked_at).is_(None),
        )
        .limit(1)
    ).first()
    if live is None:
        raise Unauthorized(
            "This sign-in has ended (signed out or password changed): sign in again."
        )
    return learner


def get_current_learner(request: Request, context: WalletDep, session: SessionDep) -> Learner:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Send an access token as 'Authorization: Bearer <token>'.")
    return learner_for_token(session, context, token)


CurrentLearner = Annotated[Learner, Depends(get_current_learner)]
