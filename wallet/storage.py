"""Credentials in the wallet: verify and store (encrypted, bytes as received), list and search
(metadata columns only: nothing is decrypted to list), read back decrypted, re-check status.

Python entry points (the caller passes its session and commits)::

    import_credential(session, context, learner, raw, ...)  -> WalletCredential   verify + store
    store_credential(session, context, learner, received, report, ...) -> WalletCredential
    list_credentials(session, learner, CredentialQuery)     -> CredentialPage
    get_credential(session, learner, credential_id)         -> WalletCredential   (404 if not theirs)
    get_decrypted(session, context, learner, credential_id) -> DecryptedCredential
    recheck(session, context, learner, row)                 -> WalletCredential   re-verify, status
    delete_credential(session, learner, credential_id)

Duplicates: the same credential (SHA-256 of the credential text, so a badge baked into a PNG and
the same badge as JSON are one) for the same learner is refused with 409 ``duplicate_credential``
whose ``existing`` member names the stored one; a unique constraint arbitrates concurrent imports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import String, func, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from keys import jose
from keys.sd_jwt import processing
from schemas import baking, strict_json
from schemas.errors import TaitoError
from verifier.credential import VerifyOptions, verify_credential
from verifier.report import VerificationReport
from wallet import envelope, erasure
from wallet.context import WalletContext
from wallet.errors import (
    CredentialRejected,
    DuplicateCredential,
    NotFound,
    UnsupportedInput,
)
from wallet.holder import holder_key_for
from wallet.metadata import extract, unverified_jwt_document
from wallet.tables import Learner, WalletCredential, new_id

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_CREDENTIAL_BYTES = 5 * 1024 * 1024
PRESENTATION_FORMATS = {"ldp_vp", "jwt_vp"}
Status = Literal["valid", "revoked", "suspended", "expired", "unverified", "status_unknown"]


@dataclass(frozen=True)
class Received:
    """What the learner sent: ``raw`` exactly as received, and the credential text in it
    (the same for JSON / JWT / SD-JWT; extracted from a baked PNG or SVG)."""

    raw: bytes
    media_type: str
    credential: str
    container: str | None = None  # "png" or "svg" for baked badges

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.credential.strip().encode()).hexdigest()

    def verifier_input(self) -> Any:
        return self.raw if self.container == "png" else self.raw.decode("utf-8")


def receive(raw: bytes | str, media_type: str | None = None) -> Received:
    """Classify what was sent; a baked image is unbaked (OB 3.0 §5.3) to find its credential."""
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if not data.strip():
        raise UnsupportedInput("The body is empty: send a credential.")
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise UnsupportedInput(f"A credential is at most {MAX_CREDENTIAL_BYTES} bytes.")
    if data.startswith(PNG_MAGIC):
        try:
            return Received(data, "image/png", baking.unbake_png(data), "png")
        except TaitoError as exc:
            raise UnsupportedInput(f"The PNG carries no credential: {exc.detail}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedInput("The credential is neither a PNG nor UTF-8 text.") from exc
    stripped = text.strip()
    if stripped.startswith("<"):
        try:
            return Received(data, "image/svg+xml", baking.unbake_svg(data), "svg")
        except TaitoError as exc:
            raise UnsupportedInput(f"The SVG carries no credential: {exc.detail}") from exc
    if stripped.startswith("{"):
        kind = "application/json"
    elif "~" in stripped:
        kind = "application/dc+sd-jwt"
    else:
        kind = "application/jwt"
    return Received(data, media_type or kind, text)


def _document(received: Received, report: VerificationReport) -> Mapping[str, Any] | None:
    """The credential document: the verified one, else read without verification."""
    if isinstance(report.document, Mapping):
        return report.document
    text = received.credential.strip()
    try:
        if text.startswith("{"):
            parsed = strict_json.loads(text)
            return parsed if isinstance(parsed, Mapping) else None
        if "~" in text:
            parts = processing.split(text)
            payload = strict_json.loads(jose.decode_unverified(parts.issuer_jwt).payload)
            if not isinstance(payload, Mapping):
                return None
            return processing.process(
                payload, parts.disclosures, str(payload.get("_sd_alg", "sha-256"))
            ).claims
    except TaitoError:
        return None
    return unverified_jwt_document(text)


def status_of(report: VerificationReport) -> Status:
    """One word for the list: revoked / suspended / expired / unverified / valid / unknown."""
    checks = {(c.id, c.status, c.code) for c in report.checks}
    codes_failed = {code for (_id, status, code) in checks if status == "failed"}
    if "revoked" in codes_failed:
        return "revoked"
    if "suspended" in codes_failed:
        return "suspended"
    if "expired" in codes_failed or "jwt_expired" in codes_failed:
        return "expired"
    if not report.verified:
        return "unverified"
    if any(c.id == "status" and c.status == "warning" for c in report.checks):
        return "status_unknown"
    return "valid"


def verify_received(
    context: WalletContext, received: Received, options: VerifyOptions | None = None
) -> VerificationReport:
    return verify_credential(received.verifier_input(), options or context.verifier.options())


def data_key(context: WalletContext, learner: Learner) -> bytes:
    """The learner's data key, unwrapped (envelope encryption of what the wallet keeps)."""
    return envelope.unwrap(context.vault(), learner.id, learner.wrapped_data_key)


def existing_duplicate(session: Session, learner: Learner, content_hash: str) -> str | None:
    return session.exec(
        select(WalletCredential.id).where(
            WalletCredential.learner_id == learner.id,
            WalletCredential.content_hash == content_hash,
        )
    ).first()


def _refuse_duplicate(existing: str) -> DuplicateCredential:
    return DuplicateCredential(
        f"This credential is already in the wallet as {existing}.",
        extra={"existing": existing, "location": f"/wallet/credentials/{existing}"},
    )


def _apply_report(row: WalletCredential, report: VerificationReport, now: datetime) -> None:
    row.report = report.to_json()
    row.verified = report.verified
    row.status = status_of(report)
    row.checked_at = now


def store_credential(
    session: Session,
    context: WalletContext,
    learner: Learner,
    received: Received,
    report: VerificationReport,
    *,
    accept_unverified: bool = False,
    source: str = "upload",
    added_at: datetime | None = None,
) -> WalletCredential:
    """Store an already verified credential (see :func:`import_credential`). Flushes; the caller
    commits. A concurrent duplicate rolls the session back and raises 409."""
    document = _document(received, report)
    if document is None:
        raise UnsupportedInput(
            "The input is not a credential the wallet can read.",
            extra={"report": report.to_json()},
        )
    types = document.get("type")
    if report.format in PRESENTATION_FORMATS or "VerifiablePresentation" in (
        types if isinstance(types, list) else [types]
    ):
        raise UnsupportedInput(
            "This is a presentation, not a credential: import the credentials it carries.",
            extra={"report": report.to_json()},
        )
    if not report.verified and not accept_unverified:
        raise CredentialRejected(
            "The credential did not verify; see the report. Import it with "
            "accept_unverified=true to keep it flagged as unverified.",
            extra={"report": report.to_json()},
        )
    existing = existing_duplicate(session, learner, received.content_hash)
    if existing is not None:
        raise _refuse_duplicate(existing)
    meta = extract(document, report.format)
    profile = meta.profile()
    confirmation = document.get("cnf")
    if isinstance(confirmation, Mapping) and isinstance(confirmation.get("jwk"), Mapping):
        # RFC 7800 §3.2: bound to a key; can this learner prove possession (present it)?
        own = holder_key_for(session, context, learner, confirmation["jwk"])
        profile["holder_bound"] = own is not None
    now = context.clock()
    credential_id = new_id()
    row = WalletCredential(
        id=credential_id,
        learner_id=learner.id,
        content_hash=received.content_hash,
        ciphertext=envelope.encrypt(
            data_key(context, learner), learner.id, credential_id, received.raw
        ),
        media_type=received.media_type,
        size=len(received.raw),
        format=report.format or "unknown",
        container=received.container,
        source=source,
        issuer_id=meta.issuer_id[:2048] if meta.issuer_id else None,
        issuer_name=meta.issuer_name,
        name=meta.name,
        description=meta.description,
        types=meta.types,
        issued_at=meta.issued_at,
        valid_from=meta.valid_from,
        valid_until=meta.valid_until,
        skills=meta.skills,
        profile=profile,
        search_text=meta.search_text(),
        verified=report.verified,
        accepted_unverified=not report.verified,
        added_at=added_at or now,
    )
    _apply_report(row, report, now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        again = existing_duplicate(session, learner, received.content_hash)
        if again is None:
            raise
        raise _refuse_duplicate(again) from exc
    return row


def import_credential(
    session: Session,
    context: WalletContext,
    learner: Learner,
    raw: bytes | str,
    *,
    media_type: str | None = None,
    accept_unverified: bool = False,
    source: str = "upload",
    options: VerifyOptions | None = None,
) -> WalletCredential:
    """Verify ``raw`` (JSON-LD, VC-JWT, SD-JWT VC, JAdES-sealed ELM, CLR, baked PNG / SVG) with
    the verifier and store it with its report, exactly as received, encrypted.

    Refused: a presentation or unreadable input (422 ``unsupported_input``), a credential that does
    not verify unless ``accept_unverified`` (422 ``credential_rejected``; ``extra.report``), a
    duplicate (409). ``options`` defaults to the app verifier's (status checked online). Blocking:
    call it from a worker thread. Flushes; the caller commits."""
    received = receive(raw, media_type)
    existing = existing_duplicate(session, learner, received.content_hash)
    if existing is not None:  # before verifying: no remote fetch for a known credential
        raise _refuse_duplicate(existing)
    report = verify_received(context, received, options)
    return store_credential(
        session,
        context,
        learner,
        received,
        report,
        accept_unverified=accept_unverified,
        source=source,
    )


@dataclass(frozen=True)
class CredentialQuery:
    """Filters of the list: every word of ``q`` must appear in the name, description, issuer,
    types or skills."""

    q: str | None = None
    issuer: str | None = None
    status: str | None = None
    format: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass
class CredentialPage:
    items: list[WalletCredential]
    total: int
    limit: int
    offset: int
    next_offset: int | None = field(default=None)


def list_credentials(session: Session, learner: Learner, query: CredentialQuery) -> CredentialPage:
    """One page of the learner's credentials, newest first; metadata columns only.

    Without words the page comes from the ``(learner_id, added_at, id)`` index. With words, the
    matching ``(id, added_at)`` pairs are read from the covering search index (one pass that also
    gives the total), ordered here, and only the page's rows are loaded."""
    conditions: list[Any] = [WalletCredential.learner_id == learner.id]
    words = (query.q or "").lower().split()[:8]  # every word, in any order
    for word in words:
        conditions.append(col(WalletCredential.search_text).contains(word, autoescape=True))
    if query.issuer:
        conditions.append(WalletCredential.issuer_id == query.issuer)
    if query.status:
        conditions.append(WalletCredential.status == query.status)
    if query.format:
        conditions.append(WalletCredential.format == query.format)
    newest_first = (col(WalletCredential.added_at).desc(), col(WalletCredential.id).desc())
    listed = (
        select(WalletCredential)
        .options(defer(WalletCredential.ciphertext), defer(WalletCredential.report))  # type: ignore[arg-type]
        .order_by(*newest_first)
    )
    if words:
        # The time as the database returns it (sortable), without parsing one datetime per match.
        added = type_coerce(WalletCredential.added_at, String)
        matches = list(session.exec(select(WalletCredential.id, added).where(*conditions)))
        matches.sort(key=lambda match: (match[1], match[0]), reverse=True)
        total = len(matches)
        page_ids = [match[0] for match in matches[query.offset : query.offset + query.limit]]
        rows = list(session.exec(listed.where(col(WalletCredential.id).in_(page_ids))))
    else:
        total = session.exec(
            select(func.count()).select_from(WalletCredential).where(*conditions)
        ).one()
        rows = list(session.exec(listed.where(*conditions).offset(query.offset).limit(query.limit)))
    following = query.offset + len(rows)
    return CredentialPage(
        rows, int(total), query.limit, query.offset, following if following < total else None
    )


def credentials_of(session: Session, learner: Learner) -> Iterable[WalletCredential]:
    """Every credential of the learner, oldest first (export, skills profile)."""
    return session.exec(
        select(WalletCredential)
        .where(WalletCredential.learner_id == learner.id)
        .order_by(col(WalletCredential.added_at), col(WalletCredential.id))
    )


def get_credential(session: Session, learner: Learner, credential_id: str) -> WalletCredential:
    """The learner's credential; 404 for an unknown id and for another learner's."""
    row = session.get(WalletCredential, credential_id)
    if row is None or row.learner_id != learner.id:
        raise NotFound("No such credential in your wallet.")
    return row


@dataclass(frozen=True)
class DecryptedCredential:
    row: WalletCredential
    raw: bytes  # exactly as received (a PNG / SVG for baked badges)
    credential: str  # the credential text: JSON, compact JWS, SD-JWT (unbaked for images)

    @property
    def media_type(self) -> str:
        return self.row.media_type

    def json(self) -> Any:
        """The credential as JSON when it is a JSON document, else ``None``."""
        text = self.credential.strip()
        return strict_json.loads(text) if text.startswith("{") else None


def decrypt_row(
    context: WalletContext, learner: Learner, row: WalletCredential
) -> DecryptedCredential:
    if row.learner_id != learner.id:
        raise NotFound("No such credential in your wallet.")
    raw = envelope.decrypt(data_key(context, learner), learner.id, row.id, row.ciphertext)
    if row.container == "png":
        text = baking.unbake_png(raw)
    elif row.container == "svg":
        text = baking.unbake_svg(raw)
    else:
        text = raw.decode("utf-8")
    return DecryptedCredential(row, raw, text)


def get_decrypted(
    session: Session, context: WalletContext, learner: Learner, credential_id: str
) -> DecryptedCredential:
    """The learner's credential with its bytes as received and its credential text."""
    return decrypt_row(context, learner, get_credential(session, learner, credential_id))


def recheck(
    session: Session,
    context: WalletContext,
    learner: Learner,
    row: WalletCredential,
    options: VerifyOptions | None = None,
) -> WalletCredential:
    """Verify the stored credential again (status lists fetched anew); update report and status."""
    decrypted = decrypt_row(context, learner, row)
    received = Received(decrypted.raw, row.media_type, decrypted.credential, row.container)
    _apply_report(row, verify_received(context, received, options), context.clock())
    session.add(row)
    session.flush()
    return row


def recheck_due(
    session: Session, context: WalletContext, *, limit: int = 200, interval: timedelta | None = None
) -> int:
    """Re-check the credentials (of every learner) not checked for ``interval``; commits each.
    The periodic job (``taito wallet recheck``) calls this."""
    cutoff = context.clock() - (interval or context.status_recheck_interval)
    rows = list(
        session.exec(
            select(WalletCredential)
            .where(WalletCredential.checked_at < cutoff)
            .order_by(col(WalletCredential.checked_at))
            .limit(limit)
        )
    )
    for row in rows:
        learner = session.get(Learner, row.learner_id)
        if learner is None:
            continue
        recheck(session, context, learner, row)
        session.commit()
    return len(rows)


def delete_credential(session: Session, learner: Learner, credential_id: str) -> None:
    """Remove the learner's credential, and every row that points at it (shares of it)."""
    row = get_credential(session, learner, credential_id)
    erasure.delete_referencing(session.connection(), WalletCredential.__tablename__, row.id)
    session.delete(row)
    session.flush()
