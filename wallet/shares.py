"""Share links: the learner's links to chosen credentials (or a subset of SD-JWT claims, or the
skills profile), each with its own expiry, optional password and optional view limit.

Learner side (the caller passes its session; these commit)::

    create_share(session, context, learner, spec)   -> (Share, token)   the token is shown once
    list_shares / get_share / update_share / revoke_share / delete_share / access_log

Public side (``/s/{token}``)::

    open_share(session, context, token, password=..., user_agent=...) -> Opened

- The token is 256 random bits, URL-safe; only its SHA-256 is stored, so the table cannot open
  a link. An unknown, revoked, expired or used-up link is the same ``not_found`` outcome.
- A view is counted by one conditional UPDATE (``views < max_views``), so concurrent openings
  never exceed the limit.
- A password is hashed with argon2id; argon2 compares digests in constant time. Every password
  attempt is written first and counted after (per link, over a sliding window), so concurrent
  guesses cannot slip past the limit; no IP address is involved or stored.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, update
from sqlmodel import Session, col, or_, select

from keys import base64url
from wallet import storage
from wallet.context import WalletContext
from wallet.errors import NotFound
from wallet.presentation import Chosen, disclosed_only
from wallet.share_errors import InvalidShare
from wallet.share_tables import Share, ShareAccess, ShareCredential
from wallet.tables import Learner, WalletCredential, new_id
from wallet.tokens import hash_token

TOKEN_BYTES = 32  # 256 bits
MAX_SHARED = 20
PASSWORD_MAX_FAILURES = 5
PASSWORD_WINDOW = timedelta(minutes=15)
SHARE_PATH = "/s/"


def aware(moment: datetime | None) -> datetime | None:
    """A UTC datetime (SQLite hands back naive ones; everything stored is UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def new_token(context: WalletContext) -> str:
    return base64url.encode(context.random(TOKEN_BYTES))


def share_url(context: WalletContext, token: str) -> str:
    return f"{context.public_url.rstrip('/')}{SHARE_PATH}{token}"


def state_of(share: Share, now: datetime) -> str:
    """active, revoked, expired or used_up (the view limit is reached)."""
    if share.revoked_at is not None:
        return "revoked"
    expires = aware(share.expires_at)
    if expires is not None and expires <= now:
        return "expired"
    if share.max_views is not None and share.views >= share.max_views:
        return "used_up"
    return "active"


# ------------------------------------------------------------------------------ learner side


@dataclass(frozen=True)
class ShareSpec:
    kind: str = "credentials"  # credentials / skills
    credentials: Sequence[Chosen] = ()
    label: str | None = None
    expires_at: datetime | None = None
    password: str | None = None
    max_views: int | None = None


def _check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InvalidShare("Give expires_at with a time zone, e.g. 2027-01-31T23:59:00Z.")
    if expires_at <= now:
        raise InvalidShare("expires_at is in the past: a link must expire in the future.")
    return expires_at.astimezone(UTC)


def _check_item(
    session: Session, context: WalletContext, learner: Learner, item: Chosen
) -> WalletCredential:
    row = storage.get_credential(session, learner, item.credential_id)
    if item.reveal is not None:
        if row.format != "dc+sd-jwt":
            raise InvalidShare(
                f"Claims are chosen for SD-JWT VCs only; credential {row.id} is {row.format}."
            )
        # The pointers must name claims of this credential (RFC 6901); raises otherwise.
        disclosed_only(storage.decrypt_row(context, learner, row).credential, item.reveal)
    return row


def create_share(
    session: Session, context: WalletContext, learner: Learner, spec: ShareSpec
) -> tuple[Share, str]:
    """A new link and its token (shown once). A skills share with no credentials chosen covers
    every credential in the wallet now."""
    now = context.clock()
    chosen = list(spec.credentials)
    if spec.kind == "skills" and not chosen:
        chosen = [Chosen(row.id) for row in storage.credentials_of(session, learner)]
    if not chosen:
        raise InvalidShare("Choose at least one credential to share.")
    if len(chosen) > MAX_SHARED:
        raise InvalidShare(f"A link shares at most {MAX_SHARED} credentials.")
    if len({c.credential_id for c in chosen}) != len(chosen):
        raise InvalidShare("A credential is listed twice.")
    rows = [_check_item(session, context, learner, item) for item in chosen]
    token = new_token(context)
    share = Share(
        id=new_id(),
        learner_id=learner.id,
        token_hash=hash_token(token),
        kind=spec.kind,
        label=spec.label,
        expires_at=_check_expiry(spec.expires_at, now),
        password_hash=context.password_hasher.hash(spec.password) if spec.password else None,
        max_views=spec.max_views,
        created_at=now,
        updated_at=now,
    )
    session.add(share)
    session.flush()
    for position, (item, row) in enumerate(zip(chosen, rows, strict=True)):
        session.add(
            ShareCredential(
                share_id=share.id, credential_id=row.id, position=position, reveal=item.reveal
            )
        )
    session.commit()
    session.refresh(share)
    return share, token


def list_shares(session: Session, learner: Learner) -> list[Share]:
    return list(
        session.exec(
            select(Share)
            .where(Share.learner_id == learner.id)
            .order_by(col(Share.created_at).desc(), col(Share.id))
        )
    )


def get_share(session: Session, learner: Learner, share_id: str) -> Share:
    """The learner's link; 404 for an unknown id and for another learner's."""
    share = session.get(Share, share_id)
    if share is None or share.learner_id != learner.id:
        raise NotFound("No such share link in your wallet.")
    return share


def shared_items(session: Session, share: Share) -> list[tuple[ShareCredential, WalletCredential]]:
    """What a link shows, in order (a credential deleted from the wallet is gone from it too)."""
    return [
        (item, row)
        for item, row in session.exec(
            select(ShareCredential, WalletCredential)
            .join(WalletCredential, col(WalletCredential.id) == col(ShareCredential.credential_id))
            .where(ShareCredential.share_id == share.id)
            .order_by(col(ShareCredential.position))
        )
    ]


def update_share(
    session: Session,
    context: WalletContext,
    learner: Learner,
    share_id: str,
    changes: dict[str, Any],
) -> Share:
    """Change label, expiry, password or view limit (a member set to None removes it)."""
    share = get_share(session, learner, share_id)
    if share.revoked_at is not None:
        raise InvalidShare("A revoked link cannot be changed: create a new one.")
    now = context.clock()
    if "label" in changes:
        share.label = changes["label"]
    if "expires_at" in changes:
        share.expires_at = _check_expiry(changes["expires_at"], now)
    if "password" in changes:
        password = changes["password"]
        share.password_hash = context.password_hasher.hash(password) if password else None
    if "max_views" in changes:
        share.max_views = changes["max_views"]
    share.updated_at = now
    session.add(share)
    session.commit()
    session.refresh(share)
    return share


def revoke_share(
    session: Session, context: WalletContext, learner: Learner, share_id: str
) -> Share:
    """The link stops working at once (its access log stays); revoking twice is a no-op."""
    share = get_share(session, learner, share_id)
    if share.revoked_at is None:
        share.revoked_at = share.updated_at = context.clock()
        session.add(share)
        session.commit()
        session.refresh(share)
    return share


def delete_share(session: Session, learner: Learner, share_id: str) -> None:
    """Forget the link and its access log."""
    session.delete(get_share(session, learner, share_id))
    session.commit()


@dataclass(frozen=True)
class AccessPage:
    share: Share
    entries: list[ShareAccess]
    total: int
    by_outcome: dict[str, int]
    by_agent: dict[str, int]


def access_log(
    session: Session, learner: Learner, share_id: str, *, limit: int = 100, offset: int = 0
) -> AccessPage:
    """The link's access log, newest first, with counts by outcome and by user agent."""
    share = get_share(session, learner, share_id)
    where = ShareAccess.share_id == share.id
    entries = list(
        session.exec(
            select(ShareAccess)
            .where(where)
            .order_by(col(ShareAccess.at).desc(), col(ShareAccess.id))
            .offset(offset)
            .limit(limit)
        )
    )
    by_outcome = {
        str(k): int(v)
        for k, v in session.exec(
            select(ShareAccess.outcome, func.count()).where(where).group_by(ShareAccess.outcome)
        )
    }
    by_agent = {
        str(k): int(v)
        for k, v in session.exec(
            select(ShareAccess.agent, func.count())
            .where(where, ShareAccess.outcome == "view")
            .group_by(ShareAccess.agent)
        )
    }
    return AccessPage(share, entries, sum(by_outcome.values()), by_outcome, by_agent)


# ------------------------------------------------------------------------------ public side

_BROWSERS = (  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("Wget/", "Wget"),
    ("python-httpx/", "Python httpx"),
    ("python-requests/", "Python requests"),
    ("node", "Node.js"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
# Link-preview crawlers of the places people paste links (LinkedIn first of all): they get a page
# with no personal data and use up no view.
_PREVIEW_BOTS = (
    ("LinkedInBot", "LinkedIn preview"),
    ("facebookexternalhit", "Facebook preview"),
    ("Twitterbot", "X preview"),
    ("Slackbot", "Slack preview"),
    ("Discordbot", "Discord preview"),
    ("WhatsApp", "WhatsApp preview"),
    ("TelegramBot", "Telegram preview"),
    ("Teams", "Microsoft Teams preview"),
    ("SkypeUriPreview", "Skype preview"),
)
_BOT = re.compile(r"bot|crawler|spider", re.IGNORECASE)


def preview_bot(user_agent: str | None) -> str | None:
    """The name of a link-preview crawler, or None."""
    agent = user_agent or ""
    return next((name for marker, name in _PREVIEW_BOTS if marker in agent), None)


def coarse_agent(user_agent: str | None) -> str:
    """A coarse user agent family ("Chrome on Android"): never the full header (fingerprint)."""
    agent = (user_agent or "")[:512]
    if not agent.strip():
        return "Unknown"
    bot = preview_bot(agent)
    if bot is not None:
        return bot
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    if browser is None:
        return "Bot" if _BOT.search(agent) else "Other"
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    return f"{browser} on {system}" if system else browser


class Outcome(enum.Enum):
    OPEN = "open"  # counted as a view: show it
    PREVIEW = "preview"  # a link-preview crawler: a page with nothing personal
    NOT_FOUND = "not_found"  # unknown, revoked, expired or used up: all the same
    PASSWORD_REQUIRED = "password_required"  # noqa: S105 - an outcome name
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome name
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Opened:
    outcome: Outcome
    share: Share | None = None
    retry_after: int | None = None


def _live(now: datetime) -> list[Any]:
    return [
        col(Share.revoked_at).is_(None),
        or_(col(Share.expires_at).is_(None), col(Share.expires_at) > now),
        or_(col(Share.max_views).is_(None), col(Share.views) < col(Share.max_views)),
    ]


def _find_live(session: Session, token: str, now: datetime) -> Share | None:
    if not token or len(token) > 200:
        return None
    return session.exec(
        select(Share).where(Share.token_hash == hash_token(token), *_live(now))
    ).first()


def _password_ok(
    session: Session,
    context: WalletContext,
    share: Share,
    password: str,
    *,
    now: datetime,
    agent: str,
) -> Opened | None:
    """None when the password is right; else the outcome.

    Attempts on one link are counted one after another: a write that changes nothing takes the
    link's row lock (PostgreSQL) or the database's write lock (SQLite) before the count, and holds
    it until the attempt is recorded, so of concurrent guesses exactly the limit get checked.
    """
    session.execute(
        update(Share)
        .where(col(Share.id) == share.id)
        .values(views=Share.views)
        .execution_options(synchronize_session=False)
    )
    since = now - PASSWORD_WINDOW
    failures, oldest = session.exec(
        select(func.count(), func.min(ShareAccess.at)).where(
            ShareAccess.share_id == share.id,
            ShareAccess.outcome == "wrong_password",
            col(ShareAccess.at) > since,
        )
    ).one()
    limited = failures >= PASSWORD_MAX_FAILURES
    outcome = "rate_limited" if limited else "wrong_password"
    attempt = ShareAccess(share_id=share.id, at=now, outcome=outcome, agent=agent)
    session.add(attempt)
    session.commit()  # releases the lock
    if limited:
        oldest_at = aware(oldest) or now
        retry = max(1, int((oldest_at + PASSWORD_WINDOW - now).total_seconds()) + 1)
        return Opened(Outcome.RATE_LIMITED, share, retry)
    assert share.password_hash is not None
    right: bool
    try:
        right = context.password_hasher.verify(share.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        right = False
    if not right:
        return Opened(Outcome.WRONG_PASSWORD, share)
    session.delete(attempt)  # the right password: the attempt becomes the view below
    session.commit()
    return None


def open_share(
    session: Session,
    context: WalletContext,
    token: str,
    *,
    password: str | None = None,
    user_agent: str | None = None,
) -> Opened:
    """Open a link: check it is live, the password, then count the view atomically."""
    now = context.clock()
    share = _find_live(session, token, now)
    if share is None:
        return Opened(Outcome.NOT_FOUND)
    agent = coarse_agent(user_agent)
    if preview_bot(user_agent) is not None:
        session.add(ShareAccess(share_id=share.id, at=now, outcome="preview", agent=agent))
        session.commit()
        return Opened(Outcome.PREVIEW, share)
    if share.password_hash is not None:
        if not password:
            return Opened(Outcome.PASSWORD_REQUIRED, share)
        refused = _password_ok(session, context, share, password, now=now, agent=agent)
        if refused is not None:
            return refused
    counted = session.exec(
        update(Share)
        .where(col(Share.id) == share.id, *_live(now))
        .values(views=col(Share.views) + 1)
    )
    if counted.rowcount != 1:  # the last view went to a concurrent request
        session.rollback()
        return Opened(Outcome.NOT_FOUND)
    session.add(ShareAccess(share_id=share.id, at=now, outcome="view", agent=agent))
    session.commit()
    session.refresh(share)
    return Opened(Outcome.OPEN, share)


def owner_of(session: Session, share: Share) -> Learner:
    learner = session.get(Learner, share.learner_id)
    if learner is None:  # the share cascades with its learner: only a race gets here
        raise NotFound("No such share link.")
    return learner


@dataclass(frozen=True)
class SharedCredential:
    row: WalletCredential
    credential: Any  # the JSON document, or the JWT / SD-JWT text (only the chosen claims)
    reveal: list[str] | None


def shared_credentials(
    session: Session, context: WalletContext, share: Share
) -> list[SharedCredential]:
    """The link's credentials decrypted, SD-JWTs reduced to the chosen Disclosures (no KB-JWT:
    a link is not bound to one audience)."""
    learner = owner_of(session, share)
    result = []
    for item, row in shared_items(session, share):
        decrypted = storage.decrypt_row(context, learner, row)
        credential: Any
        if row.format == "dc+sd-jwt":
            credential = disclosed_only(decrypted.credential, item.reveal)
        else:
            credential = decrypted.json()
            if credential is None:
                credential = decrypted.credential.strip()
        result.append(SharedCredential(row, credential, item.reveal))
    return result
