"""Learner accounts: registration, email verification, login with a rate limit, refresh-token
rotation with reuse detection, logout.

- Passwords are hashed with argon2id (RFC 9106) through ``argon2-cffi``.
- Access tokens: ``wallet/tokens.py`` (15 minutes by default).
- Refresh tokens rotate on every use; each belongs to a family started by one login. Presenting
  a token that was already rotated (or revoked) revokes the whole family: a stolen token and the
  legitimate one cannot both live on (RFC 9700 §4.14.2, refresh token rotation).
- Failed sign-ins are limited over a sliding window, counted in the ``login_attempt`` table so
  the limits hold across processes: per account from one client address (5), per account from
  all addresses (20), per client address (20); over a limit: 429 with ``Retry-After`` (RFC 6585
  §4). The first limit is the one a guesser meets; locking the learner out takes the second,
  that is failures from several addresses (OWASP ASVS 4.0.3 V2.2.1: anti-automation that holds
  against account lockout too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wallet import envelope, mail, metrics
from wallet.context import WalletContext
from wallet.errors import (
    AccountExists,
    InvalidEmailToken,
    InvalidLogin,
    InvalidRefreshToken,
    RateLimited,
)
from wallet.holder import ensure_holder_keys
from wallet.tables import EmailToken, Learner, LoginAttempt, RefreshToken, new_id
from wallet.tokens import hash_token, issue_access_token, new_refresh_token

VERIFY, RESET = "verify", "reset"  # email_token.purpose
RESET_TOKEN_TTL = timedelta(hours=1)
RESET_MAILS_PER_HOUR = 3  # per account: a form cannot be used to flood a mailbox

_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with ``hasher``'s parameters, verified when the email is unknown, so the time of a
    failed login does not reveal which accounts exist."""
    params = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[params]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds of the access token
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name, not a secret


def _verification_mail(
    session: Session, context: WalletContext, learner: Learner, now: datetime
) -> None:
    token = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            learner_id=learner.id,
            token_hash=hash_token(token),
            email=learner.email,
            created_at=now,
            expires_at=now + context.email_token_ttl,
        )
    )
    link = f"{context.public_url.rstrip('/')}/wallet/verify-email?token={token}"
    mail.queue_mail(
        session,
        learner.id,
        learner.email,
        "Confirm your email for your Taito wallet",
        "Hello,\n\nconfirm that this address belongs to your Taito wallet by opening:\n\n"
        f"{link}\n\nor send the token to POST /wallet/auth/verify-email.\n"
        f"The link is valid for {int(context.email_token_ttl.total_seconds() // 3600)} hours.\n",
    )


def register(
    session: Session,
    context: WalletContext,
    email: str,
    password: str,
    display_name: str | None = None,
    client: str = "unknown",
) -> Learner:
    """A new account with its data key and holder keys; a verification mail goes to the outbox.

    Saying that an address is taken tells whoever asks that it has an account (OWASP ASVS
    V2.2 / WSTG-IDNT-04), and registration signs in at once, so it cannot answer alike either way.
    It is counted instead: a registration that finds its address taken is a failed sign-in
    attempt of that client and that account, under the same limits as sign-in, so probing for
    addresses through registration is as slow as probing through sign-in."""
    try:
        learner = _register(session, context, email, password, display_name, client)
    except RateLimited:
        metrics.registration("rate_limited")
        raise
    except AccountExists:
        metrics.registration("address_taken")
        raise
    metrics.registration("created")
    return learner


def _register(
    session: Session,
    context: WalletContext,
    email: str,
    password: str,
    display_name: str | None,
    client: str,
) -> Learner:
    now = context.clock()
    address = normalise_email(email)
    attempt = _attempt(session, context, _digest(address), _digest(client), now)
    if session.exec(select(Learner.id).where(Learner.email == address)).first() is not None:
        raise AccountExists("An account with this email already exists: sign in instead.")
    learner_id = new_id()
    learner = Learner(
        id=learner_id,
        email=address,
        display_name=display_name,
        password_hash=context.password_hasher.hash(password),
        wrapped_data_key=envelope.new_wrapped_key(context.vault(), learner_id, context.random),
        created_at=now,
    )
    session.add(learner)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same address won
        session.rollback()
        raise AccountExists("An account with this email already exists: sign in instead.") from exc
    session.delete(attempt)  # a new account is no failed attempt
    ensure_holder_keys(session, context, learner)
    _verification_mail(session, context, learner, context.clock())
    session.commit()
    mail.deliver_pending(session, context)
    session.refresh(learner)
    return learner


def resend_verification(session: Session, context: WalletContext, learner: Learner) -> None:
    if learner.email_verified_at is None:
        _verification_mail(session, context, learner, context.clock())
        session.commit()
        mail.deliver_pending(session, context)


def _spend_mailed_token(
    session: Session, token: str, purpose: str, now: datetime, what: str
) -> Learner:
    """The learner of a live mailed token of ``purpose``, the token spent atomically (of two
    concurrent uses, one wins); :class:`InvalidEmailToken` otherwise. The caller commits."""
    row = session.exec(
        select(EmailToken).where(
            EmailToken.token_hash == hash_token(token), EmailToken.purpose == purpose
        )
    ).first()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= now:
        raise InvalidEmailToken(f"The {what} is unknown, used or expired.")
    learner = session.get(Learner, row.learner_id)
    if learner is None or learner.email != row.email:
        raise InvalidEmailToken(f"The {what} is for another address.")
    spent = session.exec(
        update(EmailToken)
        .where(col(EmailToken.id) == row.id, col(EmailToken.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        session.rollback()
        raise InvalidEmailToken(f"The {what} is unknown, used or expired.")
    return learner


def verify_email(session: Session, context: WalletContext, token: str) -> Learner:
    now = context.clock()
    learner = _spend_mailed_token(session, token, VERIFY, now, "verification token")
    learner.email_verified_at = now
    session.add(learner)
    session.commit()
    session.refresh(learner)
    return learner


def _attempt(
    session: Session, context: WalletContext, account: str, client: str, now: datetime
) -> LoginAttempt:
    """Record a sign-in attempt as failed, then count: each attempt sees those committed before
    it, so of concurrent guesses at most the limit reach the password check (checking first and
    recording after would let a burst through). A refused attempt is not kept; a right password
    removes its row (the caller)."""
    attempt = LoginAttempt(account=account, client=client, at=now)
    session.add(attempt)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < now - context.login_window))
    session.commit()
    since = now - context.login_window
    of_account, of_client = LoginAttempt.account == account, LoginAttempt.client == client
    for where, limit in (
        ((of_account, of_client), context.login_max_failures_account_client),
        ((of_account,), context.login_max_failures_account),
        ((of_client,), context.login_max_failures_client),
    ):
        count, oldest = session.exec(
            select(func.count(), func.min(LoginAttempt.at)).where(*where, LoginAttempt.at > since)
        ).one()
        if count > limit and oldest is not None:  # this attempt is one of them
            session.delete(attempt)
            session.commit()
            retry = max(1, int((_aware(oldest) + context.login_window - now).total_seconds()) + 1)
            raise RateLimited(
                f"Too many failed attempts; try again in {retry} seconds.", retry_after=retry
            )
    return attempt


def issue_tokens(
    session: Session, context: WalletContext, learner: Learner, family_id: str | None = None
) -> TokenPair:
    """A new access token and refresh token (a new family unless ``family_id``); commits."""
    now = context.clock()
    refresh = new_refresh_token()
    family = family_id or new_id()
    session.add(
        RefreshToken(
            learner_id=learner.id,
            family_id=family,
            token_hash=hash_token(refresh),
            created_at=now,
            expires_at=now + context.refresh_token_ttl,
        )
    )
    session.commit()
    access = issue_access_token(
        context.secret(),
        learner_id=learner.id,
        session_id=family,
        issuer=context.issuer,
        now=now,
        lifetime=context.access_token_ttl,
    )
    return TokenPair(access, refresh, int(context.access_token_ttl.total_seconds()))


def login(
    session: Session, context: WalletContext, email: str, password: str, client: str
) -> TokenPair:
    try:
        tokens = _login(session, context, email, password, client)
    except RateLimited:
        metrics.sign_in("rate_limited")
        raise
    except InvalidLogin:
        metrics.sign_in("failed")
        raise
    metrics.sign_in("succeeded")
    return tokens


def _login(
    session: Session, context: WalletContext, email: str, password: str, client: str
) -> TokenPair:
    now = context.clock()
    address = normalise_email(email)
    account, client_key = _digest(address), _digest(client)
    _attempt(session, context, account, client_key, now)
    learner = session.exec(select(Learner).where(Learner.email == address)).first()
    try:
        context.password_hasher.verify(
            learner.password_hash if learner is not None else _dummy_hash(context.password_hasher),
            password,
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        learner = None
    else:
        if learner is not None and context.password_hasher.check_needs_rehash(
            learner.password_hash
        ):
            learner.password_hash = context.password_hasher.hash(password)
            session.add(learner)
    if learner is None:
        raise InvalidLogin("The email or the password is wrong.")  # the attempt stays counted
    # this client knows the password: its failures go; other addresses' stay counted
    session.exec(
        delete(LoginAttempt).where(
            col(LoginAttempt.account) == account, col(LoginAttempt.client) == client_key
        )
    )
    return issue_tokens(session, context, learner)


def _revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def _reused(session: Session, family_id: str, now: datetime) -> InvalidRefreshToken:
    """RFC 9700 §4.14.2: a spent token presented again revokes the whole family (committed);
    the error to raise."""
    _revoke_family(session, family_id, now)
    session.commit()
    metrics.REFRESH_REUSE.inc()
    return InvalidRefreshToken(
        "This refresh token was already used: every session of this sign-in is revoked."
    )


def refresh(session: Session, context: WalletContext, token: str) -> TokenPair:
    """Rotate: the presented token is spent and a new one of the same family is returned."""
    now = context.clock()
    token_hash = hash_token(token)
    row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).first()
    if row is None or not hmac.compare_digest(row.token_hash, token_hash):
        raise InvalidRefreshToken("The refresh token is not valid.")
    if row.used_at is not None or row.revoked_at is not None:
        raise _reused(session, row.family_id, now)
    if _aware(row.expires_at) <= now:
        raise InvalidRefreshToken("The refresh token has expired: sign in again.")
    # Spend it atomically: of two concurrent uses, one wins and the other counts as a reuse.
    spent = session.exec(
        update(RefreshToken)
        .where(
            col(RefreshToken.id) == row.id,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        session.rollback()
        raise _reused(session, row.family_id, now)
    learner = session.get(Learner, row.learner_id)
    if learner is None:
        raise InvalidRefreshToken("The refresh token is not valid.")
    return issue_tokens(session, context, learner, family_id=row.family_id)


def logout(session: Session, context: WalletContext, token: str) -> None:
    """Revoke the family of ``token`` (every token of that sign-in). Unknown tokens are ignored."""
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    ).first()
    if row is not None:
        _revoke_family(session, row.family_id, context.clock())
        session.commit()


def logout_everywhere(session: Session, context: WalletContext, learner: Learner) -> None:
    """Revoke every refresh token of the learner (every sign-in, every device)."""
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.learner_id) == learner.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=context.clock())
    )
    session.commit()


def check_password(context: WalletContext, learner: Learner, password: str) -> bool:
    try:
        return context.password_hasher.verify(learner.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- passwords ---------------------------------------------------------------------------------


def _password_changed_mail(session: Session, learner: Learner) -> None:
    mail.queue_mail(
        session,
        learner.id,
        learner.email,
        "The password of your Taito wallet was changed",
        "Hello,\n\nthe password of your Taito wallet was just changed, and every device was "
        "signed out.\nIf this was not you, reset your password at once with 'forgot password' "
        "and tell your wallet operator.\n",
    )


def _set_password(session: Session, context: WalletContext, learner: Learner, new: str) -> None:
    """The new password's hash, and every sign-in ended (OWASP ASVS V3.3.3 / V2.5.x)."""
    learner.password_hash = context.password_hasher.hash(new)
    session.add(learner)
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.learner_id) == learner.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=context.clock())
    )
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.account) == _digest(learner.email)))
    _password_changed_mail(session, learner)


def change_password(
    session: Session,
    context: WalletContext,
    learner: Learner,
    current: str,
    new: str,
    client: str,
) -> TokenPair:
    """Change the password (the current one is asked, under the sign-in rate limit): every
    sign-in ends, this one gets fresh tokens, and the learner is told by mail."""
    now = context.clock()
    account, client_key = _digest(learner.email), _digest(client)
    attempt = _attempt(session, context, account, client_key, now)
    if not check_password(context, learner, current):
        raise InvalidLogin("The current password is wrong: the password was not changed.")
    session.delete(attempt)
    _set_password(session, context, learner, new)
    pair = issue_tokens(session, context, learner)  # commits
    mail.deliver_pending(session, context)
    return pair


def request_password_reset(session: Session, context: WalletContext, email: str) -> None:
    """Mail a one-time reset token (valid one hour) when the address has an account. The caller
    answers the same either way, so the form does not reveal which addresses have accounts."""
    now = context.clock()
    learner = session.exec(select(Learner).where(Learner.email == normalise_email(email))).first()
    if learner is None:
        return
    recent = session.exec(
        select(func.count()).where(
            EmailToken.learner_id == learner.id,
            EmailToken.purpose == RESET,
            EmailToken.created_at > now - timedelta(hours=1),
        )
    ).one()
    if recent >= RESET_MAILS_PER_HOUR:
        return
    token = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            learner_id=learner.id,
            token_hash=hash_token(token),
            purpose=RESET,
            email=learner.email,
            created_at=now,
            expires_at=now + RESET_TOKEN_TTL,
        )
    )
    mail.queue_mail(
        session,
        learner.id,
        learner.email,
        "Reset the password of your Taito wallet",
        "Hello,\n\nsomeone (we hope you) asked to reset the password of your Taito wallet.\n"
        f"Your reset code, valid for one hour and once:\n\n{token}\n\n"
        "Enter it in your wallet app with a new password (POST /wallet/auth/reset-password).\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n",
    )
    session.commit()
    mail.deliver_pending(session, context)


def reset_password(session: Session, context: WalletContext, token: str, new: str) -> None:
    """Set a new password with a mailed reset token: the token and every other reset token of the
    account are spent, every sign-in ends, and the address counts as verified (the learner read
    mail sent to it). Credentials stay readable: the data key is sealed by the master key."""
    now = context.clock()
    learner = _spend_mailed_token(session, token, RESET, now, "reset code")
    session.exec(
        update(EmailToken)
        .where(
            col(EmailToken.learner_id) == learner.id,
            col(EmailToken.purpose) == RESET,
            col(EmailToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    if learner.email_verified_at is None:
        learner.email_verified_at = now
    _set_password(session, context, learner, new)
    session.commit()
    mail.deliver_pending(session, context)
