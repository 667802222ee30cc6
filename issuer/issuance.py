"""Issuing one award in every requested format, once (``Idempotency-Key``), validated and audited."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from issuer import achievements, audit, badge_image, institutions, metrics, status
from issuer.context import Caller, IssuerContext
from issuer.errors import Conflict, NotFound
from issuer.formats import clr, elm, open_badges, sd_jwt_vc
from issuer.models import ClrRequest, CredentialIssue, Format
from issuer.tables import AchievementRow, Institution, IssuedCredential, StatusList
from keys import data_integrity, sd_jwt, vc_jwt, x509
from keys.did import resolve_offline
from keys.jwk import PublicKey, public_key_from_jwk
from schemas import baking
from schemas.clr import validate_clr
from schemas.errors import TaitoError, ValidationFailed
from schemas.learning import AchievementSpec, Award, IssuerProfile, Recipient, text_in
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
        w3c_status: list[dict[str, Any]],
        token_status: dict[str, Any] | None,
        signers: dict[tuple[str, ...], Any] | None = None,
    ) -> None:
        self.session, self.context, self.institution = session, context, institution
        self.profile, self.spec, self.award, self.body = profile, spec, award, body
        self.w3c_status, self.token_status = w3c_status, token_status
        self.now = award.issued_on
        self.signers = {} if signers is None else signers  # shared by the builds of one chunk

    def _signer(self, *preferred: str) -> Any:
        if preferred not in self.signers:
            self.signers[preferred] = self.context.keys().signer(
                institutions.active_key(self.session, self.context, self.institution, *preferred)
            )
        return self.signers[preferred]

    def open_badge(self) -> dict[str, Any]:
        document = open_badges.credential(
            self.profile, self.spec, self.award, status=self.w3c_status
        )
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
            self.profile,
            self.spec,
            self.award,
            public_url=self.context.public_url,
            status=self.token_status,
        )
        return sd_jwt.issue(
            claims,
            signer=self._signer("p256", "ed25519"),
            disclosable=pointers,
            holder_key=_holder_key(self.body),
        )

    def elm(self) -> str:
        """A European Learning Model 3.2 credential sealed with JAdES baseline-B (ETSI TS 119 182-1)."""
        pem = self.institution.seal_chain_pem
        if not pem:
            raise Conflict(
                "The European Learning Model format needs a seal certificate; "
                "none is installed for this institution."
            )
        credential = elm.elm_credential(self.profile, self.spec, self.award)
        signer = self.context.keys().signer(
            institutions.active_key(
                self.session, self.context, self.institution, "p256", of_did=False
            )
        )
        return elm.seal_elm(
            credential,
            signer=signer,
            chain=x509.load_pem_chain(pem.encode()),
            signing_time=self.now,
        )


def _award(
    context: IssuerContext,
    institution: Institution,
    row: AchievementRow,
    body: CredentialIssue,
    now: datetime,
    *,
    idempotency_key: str | None,
    request_hash: str,
) -> tuple[Award, IssuedCredential]:
    """The award of ``body`` and its credential row (no documents yet, nothing written)."""
    assert institution.id is not None and row.id is not None
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
    credential = IssuedCredential(
        id=credential_uuid,
        issuer_id=institution.id,
        achievement_id=row.id,
        recipient_key=recipient_key(body.recipient),
        award={**award.model_dump(mode="json"), "status_messages": body.status_messages or []},
        documents={},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    return award, credential


def issue(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    body: CredentialIssue,
    idempotency_key: str | None,
) -> tuple[IssuedCredential, bool]:
    """Issue, or return the credential an earlier call with the same key issued.

    Returns ``(credential, created)``: :func:`issue_many` for one request, committed when it
    created the credential (with whatever else the caller had pending). Nothing is written unless
    every format signed; a concurrent twin under the same key yields the twin's credential.
    """
    (outcome,) = issue_many(session, context, caller, institution, [(body, idempotency_key)])
    if outcome.error is not None:
        raise outcome.error
    if outcome.created:
        session.commit()
        metrics.issued(body.distinct_formats)
    credential = session.get(IssuedCredential, outcome.credential_id)
    assert credential is not None
    return credential, outcome.created


# --- many at once (bulk issuance) ---------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one request of :func:`issue_many`: a credential id (new or issued earlier
    under the same key), or the error of this request alone."""

    credential_id: str | None = None
    created: bool = False
    error: TaitoError | None = None


@dataclass
class _Planned:
    index: int
    body: CredentialIssue
    credential: IssuedCredential
    award: Award
    spec: AchievementSpec
    formats: list[Format]
    needs: list[tuple[str, str]]  # (kind, purpose) of each status entry
    slots: list[tuple[StatusList, int]] = field(default_factory=list)


def _status_needs(body: CredentialIssue, formats: list[Format]) -> list[tuple[str, str]]:
    """The status entries :func:`issue` gives a credential, in its order."""
    needs: list[tuple[str, str]] = []
    if {"ob3-di", "ob3-jwt"} & set(formats):
        needs.append(("bitstring", "revocation"))
        if body.suspendable:
            needs.append(("bitstring", "suspension"))
        if body.status_messages:
            needs.append(("bitstring", "message"))
    if "sd-jwt-vc" in formats:
        needs.append(("token", "status"))
    return needs


def _documents(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    profile: IssuerProfile,
    plan: _Planned,
    signers: dict[tuple[str, ...], Any] | None = None,
) -> dict[str, str]:
    """The credential in each of its formats, signed, with the status entries of its slots."""
    w3c_status, token_status = status.claims(
        context, institution, plan.slots, plan.body.status_messages or []
    )
    build = _Build(
        session,
        context,
        institution,
        profile,
        plan.spec,
        plan.award,
        plan.body,
        w3c_status,
        token_status,
        signers,
    )
    return {fmt: getattr(build, fmt.replace("-", "_"))() for fmt in plan.formats}


def issue_many(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    requests: Sequence[tuple[CredentialIssue, str | None]],
    *,
    rng: random.Random | None = None,
) -> list[Outcome]:
    """:func:`issue` for many ``(body, idempotency_key)`` at once, in the session's transaction.

    The caller commits (or rolls back: then nothing of it was written). Per request the result is
    the same as :func:`issue`'s: a new credential, the one issued earlier under its key (same
    request) or an error of that request alone (:class:`Conflict` for a key reused with other
    data, a validation error...), while the others still issue. The database work is per call,
    not per request: one idempotency lookup, one status index check per list, one INSERT of the
    credentials and one of their status entries. A key repeated within ``requests`` is looked up
    again after the first one is written, as a later :func:`issue` call would.
    """
    institutions.authorize(caller, institution, "credentials:issue")
    outcomes: list[Outcome] = [Outcome() for _ in requests]
    rest = list(range(len(requests)))
    while rest:
        seen: set[str] = set()
        now_round: list[int] = []
        later: list[int] = []
        for i in rest:
            key = requests[i][1]
            (later if key is not None and key in seen else now_round).append(i)
            if key is not None:
                seen.add(key)
        _issue_round(session, context, caller, institution, requests, now_round, outcomes, rng)
        rest = later
    return outcomes


def _earlier_by_keys(
    session: Session, institution: Institution, keys: list[str]
) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(keys), 500):
        rows = session.exec(
            select(
                IssuedCredential.idempotency_key,
                IssuedCredential.id,
                IssuedCredential.request_hash,
            ).where(
                IssuedCredential.issuer_id == institution.id,
                col(IssuedCredential.idempotency_key).in_(keys[start : start + 500]),
            )
        ).all()
        found.update({key: (cid, digest) for key, cid, digest in rows if key is not None})
    return found


def _resolve_earlier(outcome: Outcome, earlier: tuple[str, str | None], request_hash: str) -> None:
    credential_id, digest = earlier
    if digest != request_hash:
        outcome.error = Conflict("This Idempotency-Key was used for a different request.")
    else:
        outcome.credential_id, outcome.created = credential_id, False


def _issue_round(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    requests: Sequence[tuple[CredentialIssue, str | None]],
    indexes: list[int],
    outcomes: list[Outcome],
    rng: random.Random | None,
) -> None:
    assert institution.id is not None
    hashes = {i: _request_hash(requests[i][0]) for i in indexes}
    keys = [key for i in indexes if (key := requests[i][1]) is not None]
    earlier = _earlier_by_keys(session, institution, keys) if keys else {}
    now = context.clock().replace(microsecond=0)
    achievement_rows: dict[str, Any] = {}
    plans: list[_Planned] = []
    for i in indexes:
        body, key = requests[i]
        if key is not None and key in earlier:
            _resolve_earlier(outcomes[i], earlier[key], hashes[i])
            continue
        try:
            if body.achievement_id not in achievement_rows:
                row = achievements.get(session, institution, body.achievement_id)
                achievement_rows[body.achievement_id] = (row, achievements.spec_of(row))
            row, spec = achievement_rows[body.achievement_id]
            award, credential = _award(
                context, institution, row, body, now, idempotency_key=key, request_hash=hashes[i]
            )
        except TaitoError as exc:
            outcomes[i].error = exc
            continue
        formats = body.distinct_formats
        plans.append(
            _Planned(i, body, credential, award, spec, formats, _status_needs(body, formats))
        )
    if not plans:
        return
    # Status indices: random unused ones (checked, not yet held), then the documents are signed
    # with them; the INSERT below arbitrates between concurrent writers.
    lists: dict[tuple[str, str], StatusList] = {}
    needs = [need for plan in plans for need in plan.needs]
    slots = iter(status.choose(session, institution, needs, rng=rng, lists=lists))
    for plan in plans:
        plan.slots = [next(slots) for _ in plan.needs]
    profile = institutions.issuer_profile(institution)
    signers: dict[tuple[str, ...], Any] = {}
    built: list[_Planned] = []
    for plan in plans:
        try:
            plan.credential.documents = _documents(
                session, context, institution, profile, plan, signers
            )
        except TaitoError as exc:
            outcomes[plan.index].error = exc
            continue
        built.append(plan)
    if not built:
        return
    # One INSERT, in key order (two writers of the same keys wait in one order, never deadlock);
    # a key a concurrent writer committed meanwhile is skipped and resolved as issued earlier.
    built.sort(key=lambda plan: (plan.credential.idempotency_key or "", plan.credential.id))
    statement = status.insert_skipping_duplicates(
        session, IssuedCredential, "issuer_id", "idempotency_key"
    ).returning(col(IssuedCredential.id))
    inserted = set(
        session.connection()
        .execute(statement, [plan.credential.model_dump() for plan in built])
        .scalars()
        .all()
    )
    twins = [plan for plan in built if plan.credential.id not in inserted]
    if twins:
        found = _earlier_by_keys(
            session, institution, [p.credential.idempotency_key or "" for p in twins]
        )
        for plan in twins:
            key = plan.credential.idempotency_key
            if key is None or key not in found:  # the twin rolled back after all: try again later
                raise Conflict("A concurrent request with the same key did not finish.")
            _resolve_earlier(outcomes[plan.index], found[key], hashes[plan.index])
    written = [plan for plan in built if plan.credential.id in inserted]
    _record_status(session, context, institution, written, lists, rng, profile, signers)
    for plan in written:
        outcomes[plan.index].credential_id, outcomes[plan.index].created = plan.credential.id, True
        audit.record(
            session,
            caller,
            institution.id,
            "credential.issued",
            plan.award.credential_id,
            achievement=plan.credential.achievement_id,
            formats=plan.formats,
        )
    session.flush()
    added: dict[str, int] = {}
    for plan in written:
        for lst, _ in plan.slots:
            added[lst.id] = added.get(lst.id, 0) + 1
    status.count_used(session, added)  # last: the lists' rows stay locked until the commit


def _record_status(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    written: list[_Planned],
    lists: dict[tuple[str, str], StatusList],
    rng: random.Random | None,
    profile: IssuerProfile,
    signers: dict[tuple[str, ...], Any],
) -> None:
    """Write the status entries. A credential whose index a concurrent writer took meanwhile gets
    another random unused one and is signed again (its row is updated before anyone can see it)."""
    owners = [(plan, slot) for plan in written for slot in range(len(plan.slots))]
    resign: dict[str, _Planned] = {}
    for _ in range(16):
        entries = [(*plan.slots[slot], plan.credential.id) for plan, slot in owners]
        lost = status.record(session, entries)
        if not lost:
            break
        owners = [owners[index] for index in sorted(lost)]
        needs = [plan.needs[slot] for plan, slot in owners]
        chosen = status.choose(session, institution, needs, rng=rng, lists=lists)
        for (plan, slot), new_slot in zip(owners, chosen, strict=True):
            plan.slots[slot] = new_slot
            resign[plan.credential.id] = plan
    else:
        raise Conflict("No free status list index was found; try again.")
    for plan in resign.values():
        plan.credential.documents = _documents(
            session, context, institution, profile, plan, signers
        )
        session.execute(
            update(IssuedCredential)
            .where(col(IssuedCredential.id) == plan.credential.id)
            .values(documents=plan.credential.documents)
        )


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


def learner_record(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    body: ClrRequest,
) -> dict[str, Any]:
    """A signed CLR 2.0 of every active Open Badge this institution issued to the recipient."""
    institutions.authorize(caller, institution, "credentials:issue")
    assert institution.id is not None
    rows = session.exec(
        select(IssuedCredential)
        .where(
            IssuedCredential.issuer_id == institution.id,
            IssuedCredential.recipient_key == recipient_key(body.recipient),
            IssuedCredential.status == "active",
        )
        .order_by(col(IssuedCredential.created_at))
    ).all()
    credentials = [json.loads(r.documents["ob3-di"]) for r in rows if "ob3-di" in r.documents]
    if not credentials:
        raise NotFound(
            "The institution has issued no active Open Badges credential to this recipient."
        )
    known = {c["credentialSubject"]["achievement"]["id"] for c in credentials}
    for association in body.associations:
        for ref in (association.source_id, association.target_id):
            if ref not in known:
                raise ValidationFailed(
                    "An association names an achievement the record does not hold.",
                    extra={"errors": [{"path": "body.associations", "message": ref}]},
                )
    now = context.clock().replace(microsecond=0)
    document = clr.clr_credential(
        institutions.issuer_profile(institution),
        body.recipient,
        credentials,
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        valid_from=now.isoformat().replace("+00:00", "Z"),
        name=body.name,
        salt=secrets.token_hex(8),
        associations=[
            {
                "associationType": a.association_type,
                "sourceId": a.source_id,
                "targetId": a.target_id,
            }
            for a in body.associations
        ],
    )
    validate_clr(document)
    signer = context.keys().signer(
        institutions.active_key(session, context, institution, "ed25519", "p256")
    )
    suite = "eddsa-rdfc-2022" if signer.algorithm == "EdDSA" else "ecdsa-rdfc-2019"
    signed = data_integrity.add_proof(
        document, signer=signer, cryptosuite=suite, loader=context.loader, created=now
    )
    audit.record(
        session, caller, institution.id, "clr.issued", signed["id"], credentials=len(credentials)
    )
    session.commit()
    return signed


def baked_image(
    session: Session, caller: Caller, institution: Institution, credential_id: str, kind: str
) -> bytes | str:
    """The badge image with the credential baked in (OB 3.0 §5.3): JSON-LD form, else the VC-JWT."""
    row = get(session, caller, institution, credential_id)
    text = row.documents.get("ob3-di") or row.documents.get("ob3-jwt")
    if text is None:
        raise NotFound("Only Open Badges credentials (ob3-di, ob3-jwt) can be baked into an image.")
    spec = achievements.spec_of(achievements.get(session, institution, row.achievement_id))
    issuer_name = (
        text_in(institution.profile["legal_name"], institution.profile.get("language", "en")) or ""
    )
    if kind == "png":
        image = _data_uri_png(spec.image) or badge_image.badge_png(spec, issuer_name)
        return baking.bake_png(image, text, replace=True)
    return baking.bake_svg(badge_image.badge_svg(spec, issuer_name), text)


def _data_uri_png(image: str | None) -> bytes | None:
    prefix = "data:image/png;base64,"
    if image and image.startswith(prefix):
        try:
            return base64.b64decode(image[len(prefix) :], validate=True)
        except ValueError:
            return None
    return None
