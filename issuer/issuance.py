"""Issuing one award in every requested format, once (``Idempotency-Key``), validated and audited."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from issuer import achievements, audit, institutions
from issuer.context import Caller, IssuerContext
from issuer.errors import Conflict, NotFound
from issuer.formats import open_badges, sd_jwt_vc
from issuer.models import CredentialIssue
from issuer.tables import Institution, IssuedCredential
from keys import data_integrity, sd_jwt, vc_jwt
from keys.did import resolve_offline
from keys.jwk import PublicKey, public_key_from_jwk
from keys.store import StoredKey
from schemas.errors import TaitoError, ValidationFailed
from schemas.learning import AchievementSpec, Award, IssuerProfile, Recipient
from schemas.open_badges import validate_open_badge

MEDIA_TYPES = {
    "ob3-di": "application/vc+ld+json",
    "ob3-jwt": "application/vc+jwt",
    "sd-jwt-vc": "application/dc+sd-jwt",
    "elm": "application/jose",
}


def recipient_key(recipient: Recipient) -> str:
    if recipient.email:
        return "email:" + recipient.email.strip().lower()
    if recipient.did:
        return "did:" + recipient.did
    return "student:" + str(recipient.student_number)


def _request_hash(body: CredentialIssue) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _holder_key(body: CredentialIssue) -> PublicKey | None:
    try:
        if body.holder_jwk is not None:
            return public_key_from_jwk(body.holder_jwk)
        if body.recipient.did and body.recipient.did.startswith(("did:key:", "did:jwk:")):
            return resolve_offline(body.recipient.did).public_key
    except TaitoError as exc:
        raise ValidationFailed(
            "The holder key is not valid.",
            extra={"errors": [{"path": "body.holder_jwk", "message": exc.detail}]},
        ) from exc
    return None


def _active(
    session: Session, context: IssuerContext, institution: Institution, *preferred: str
) -> StoredKey:
    rows = [r for r in institutions.key_rows(session, context, institution) if r.active]
    for key_type in preferred:
        for row in reversed(rows):
            if row.key_type == key_type:
                return row
    raise Conflict(
        f"The institution has no active key of type {' or '.join(preferred)} for this format."
    )


class _Build:
    """Everything one issuance signs; one method per format."""

    def __init__(
        self,
        session: Session,
        context: IssuerContext,
        institution: Institution,
        profile: IssuerProfile,
        spec: AchievementSpec,
        award: Award,
        body: CredentialIssue,
    ) -> None:
        self.session, self.context, self.institution = session, context, institution
        self.profile, self.spec, self.award, self.body = profile, spec, award, body
        self.now = award.issued_on

    def _signer(self, *preferred: str) -> Any:
        return self.context.keys().signer(
            _active(self.session, self.context, self.institution, *preferred)
        )

    def open_badge(self) -> dict[str, Any]:
        document = open_badges.credential(self.profile, self.spec, self.award)
        try:
            validate_open_badge(document)
        except ValidationFailed as exc:  # our mapping produced something invalid: say so exactly
            raise ValidationFailed(
                f"The credential would not be a valid Open Badge: {exc.detail}", extra=exc.extra
            ) from exc
        return document

    def ob3_di(self) -> str:
        signer = self._signer("ed25519", "p256")
        suite = "eddsa-rdfc-2022" if signer.algorithm == "EdDSA" else "ecdsa-rdfc-2019"
        signed = data_integrity.add_proof(
            self.open_badge(),
            signer=signer,
            cryptosuite=suite,
            loader=self.context.loader,
            created=self.now,
        )
        return json.dumps(signed, ensure_ascii=False, indent=2)

    def ob3_jwt(self) -> str:
        return vc_jwt.sign_credential_jwt(
            self.open_badge(),
            signer=self._signer("rsa", "ed25519", "p256"),
            profile="ob3",
            now=self.now,
        )

    def sd_jwt_vc(self) -> str:
        claims, pointers = sd_jwt_vc.claims(
            self.profile, self.spec, self.award, public_url=self.context.public_url
        )
        return sd_jwt.issue(
            claims,
            signer=self._signer("p256", "ed25519"),
            disclosable=pointers,
            holder_key=_holder_key(self.body),
        )

    def elm(self) -> str:
        raise Conflict(
            "The European Learning Model format needs a seal certificate; "
            "none is configured for this institution."
        )


def issue(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    body: CredentialIssue,
    idempotency_key: str | None,
) -> tuple[IssuedCredential, bool]:
    """Issue, or return the credential an earlier call with the same key issued.

    Returns ``(credential, created)``. Nothing is written unless every format signed.
    """
    institutions.authorize(caller, institution, "credentials:issue")
    assert institution.id is not None
    request_hash = _request_hash(body)
    if idempotency_key is not None:
        earlier = _by_idempotency_key(session, institution, idempotency_key, request_hash)
        if earlier is not None:
            return earlier, False
    row = achievements.get(session, institution, body.achievement_id)
    spec = achievements.spec_of(row)
    now = context.clock().replace(microsecond=0)
    credential_uuid = str(uuid.uuid4())
    try:
        award = Award(
            credential_id=f"urn:uuid:{credential_uuid}",
            achievement_id=achievements.url(context, institution, row.id),
            recipient=body.recipient,
            issued_on=now,
            valid_from=body.valid_from or now,
            valid_until=body.valid_until,
            results=tuple(body.results),
            evidence=tuple(body.evidence),
            salt=secrets.token_hex(8),
        )
    except ValueError as exc:
        raise ValidationFailed(
            "The award is not valid.", extra={"errors": [{"path": "body", "message": str(exc)}]}
        ) from exc
    build = _Build(
        session, context, institution, institutions.issuer_profile(institution), spec, award, body
    )
    documents: dict[str, str] = {
        fmt: getattr(build, fmt.replace("-", "_"))() for fmt in dict.fromkeys(body.formats)
    }
    credential = IssuedCredential(
        id=credential_uuid,
        issuer_id=institution.id,
        achievement_id=row.id,
        recipient_key=recipient_key(body.recipient),
        award=award.model_dump(mode="json"),
        documents=documents,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    session.add(credential)
    audit.record(
        session,
        caller,
        institution.id,
        "credential.issued",
        award.credential_id,
        achievement=row.id,
        formats=list(documents),
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = _by_idempotency_key(session, institution, idempotency_key, request_hash)
        if earlier is None:
            raise
        return earlier, False
    session.refresh(credential)
    return credential, True


def _by_idempotency_key(
    session: Session, institution: Institution, key: str, request_hash: str
) -> IssuedCredential | None:
    earlier = session.exec(
        select(IssuedCredential).where(
            IssuedCredential.issuer_id == institution.id, IssuedCredential.idempotency_key == key
        )
    ).first()
    if earlier is not None and earlier.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was used for a different request.")
    return earlier


def get(
    session: Session, caller: Caller, institution: Institution, credential_id: str
) -> IssuedCredential:
    institutions.authorize(caller, institution, "credentials:issue")
    credential_id = credential_id.removeprefix("urn:uuid:")
    row = session.get(IssuedCredential, credential_id)
    if row is None or row.issuer_id != institution.id:
        raise NotFound("The institution has no such credential.")
    return row


def public_formats(row: IssuedCredential) -> dict[str, Any]:
    return {
        fmt: json.loads(text) if text.lstrip().startswith("{") else text
        for fmt, text in row.documents.items()
    }


def document(row: IssuedCredential, fmt: str) -> str:
    if fmt not in row.documents:
        raise NotFound(f"This credential was not issued as '{fmt}'.")
    return row.documents[fmt]
