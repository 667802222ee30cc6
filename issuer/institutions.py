"""Institutions (tenants), their keys, DIDs, profiles and API keys."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer import audit, seal_ca
from issuer.context import Caller, IssuerContext, hash_secret
from issuer.errors import Conflict, Forbidden, NotFound
from issuer.formats.open_badges import profile
from issuer.models import ApiKeyCreate, InstitutionCreate
from issuer.tables import ApiKey, Institution, SealCertificate
from keys import did as dids
from keys import x509
from keys.jwk import KeyType, generate
from keys.signing import KeySigner
from keys.store import StoredKey
from schemas.errors import TaitoError, ValidationFailed
from schemas.learning import IssuerProfile


def owner(slug: str) -> str:
    return f"issuer:{slug}"


def issuer_profile(institution: Institution) -> IssuerProfile:
    return IssuerProfile(id=institution.did, slug=institution.slug, **institution.profile)


def get(session: Session, slug: str) -> Institution:
    institution = session.exec(select(Institution).where(Institution.slug == slug)).first()
    if institution is None:
        raise NotFound(f"There is no institution '{slug}'.")
    return institution


def authorize(caller: Caller, institution: Institution, scope: str) -> None:
    """The operator may do anything; an API key only within its institution and scopes."""
    if caller.is_operator:
        return
    if caller.issuer_id != institution.id:
        raise Forbidden("This API key belongs to another institution.")
    if scope not in caller.scopes and "issuer:admin" not in caller.scopes:
        raise Forbidden(f"This API key lacks the scope '{scope}'.")


def _kid(institution_did: str, key: Any) -> str:
    if institution_did.startswith("did:key:"):
        return dids.did_key_method_id(key)
    return f"{institution_did}#{key.thumbprint()}"


def _profile_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "path": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "is not valid")).removeprefix("Value error, "),
        }
        for error in exc.errors()
    ]


def create(
    session: Session, context: IssuerContext, caller: Caller, body: InstitutionCreate
) -> Institution:
    if not caller.is_operator:
        raise Forbidden("Only the operator creates institutions.")
    store = context.keys()
    details = body.model_dump(exclude={"slug", "did_method", "key_types"})
    keys = {key_type: generate(key_type) for key_type in dict.fromkeys(body.key_types)}
    if body.did_method == "key":
        if "ed25519" not in keys:
            raise Conflict("A did:key institution needs an Ed25519 key.")
        did = dids.did_key(keys["ed25519"].public_key())
    else:
        did = dids.did_web(context.public_url, "issuers", body.slug)
    try:  # validates before anything is written
        IssuerProfile(id=did, slug=body.slug, **details)
    except ValidationError as exc:
        raise ValidationFailed(
            "The institution's profile is not valid.",
            extra={"errors": _profile_errors(exc)},
        ) from exc
    institution = Institution(slug=body.slug, did=did, profile=details)
    session.add(institution)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"The slug '{body.slug}' is taken.") from exc
    assert institution.id is not None
    for key_type, key in keys.items():
        row = store.add(session, owner(body.slug), key, _kid(did, key.public_key()))
        audit.record(session, caller, institution.id, "key.created", row.kid, key_type=key_type)
    audit.record(session, caller, institution.id, "institution.created", body.slug)
    if context.seal_ca is not None and "p256" in keys:
        seal_ca.certify(session, context, institution, keys["p256"].public_key())
    session.commit()
    session.refresh(institution)
    return institution


def key_rows(session: Session, context: IssuerContext, institution: Institution) -> list[StoredKey]:
    return context.keys().keys(session, owner(institution.slug))


def active_key(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    *preferred: str,
    of_did: bool = True,
) -> StoredKey:
    """The newest active key of the first preferred type; with ``of_did`` only keys whose method
    belongs to the institution's DID (a did:key institution signs with its one identifier key)."""
    rows = [r for r in key_rows(session, context, institution) if r.active]
    if of_did:
        rows = [r for r in rows if r.kid.split("#", 1)[0] == institution.did]
    for key_type in preferred:
        for row in reversed(rows):
            if row.key_type == key_type:
                return row
    raise Conflict(
        f"The institution has no active key of type {' or '.join(preferred)} for this format."
    )


def signer(
    session: Session, context: IssuerContext, institution: Institution, *preferred: str
) -> KeySigner:
    return context.keys().signer(active_key(session, context, institution, *preferred))


def rotate_key(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    key_type: KeyType,
) -> StoredKey:
    authorize(caller, institution, "issuer:admin")
    if institution.did.startswith("did:key:"):
        raise Conflict("A did:key institution's key is its identifier and cannot rotate.")
    assert institution.id is not None
    key = generate(key_type)
    store = context.keys()
    for row in session.exec(
        select(StoredKey).where(
            StoredKey.owner == owner(institution.slug),
            StoredKey.key_type == key_type,
            col(StoredKey.active),
        )
    ):
        row.active = False
        session.add(row)
    row = store.add(session, owner(institution.slug), key, _kid(institution.did, key.public_key()))
    audit.record(session, caller, institution.id, "key.rotated", row.kid, key_type=key_type)
    if key_type == "p256" and context.seal_ca is not None and _sealed_here(context, institution):
        # the CA certifies the new seal key; the old certificate stays valid for the seals made
        certificate = seal_ca.certify(session, context, institution, key.public_key())
        audit.record(
            session,
            caller,
            institution.id,
            "seal_certificate.issued",
            f"{certificate.serial_number:x}",
        )
    session.commit()
    return row


def _sealed_here(context: IssuerContext, institution: Institution) -> bool:
    """Whether the installed seal certificate is one the configured CA issued (or none is)."""
    leaf = seal_ca.installed(institution)
    return leaf is None or seal_ca.issued_by_ca(context, leaf)


def did_document(
    session: Session, context: IssuerContext, institution: Institution
) -> dict[str, Any]:
    """did:web document (did:web §3.2): every key, active or retired, verifies old credentials."""
    if institution.did.startswith("did:key:"):
        return dids.document_for(dids.resolve_offline(institution.did))
    rows = key_rows(session, context, institution)
    pairs = [(row.kid.split("#", 1)[1], row.public_key) for row in rows]
    return dids.did_web_document(institution.did, pairs)


def profile_json(institution: Institution) -> dict[str, Any]:
    document = profile(issuer_profile(institution))
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        **document,
    }


def create_api_key(
    session: Session, caller: Caller, institution: Institution, body: ApiKeyCreate
) -> tuple[ApiKey, str]:
    authorize(caller, institution, "issuer:admin")
    assert institution.id is not None
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        issuer_id=institution.id,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        name=body.name,
        scopes=sorted(set(body.scopes)),
    )
    session.add(row)
    audit.record(
        session,
        caller,
        institution.id,
        "api_key.created",
        prefix,
        scopes=row.scopes,
        name=body.name,
    )
    session.commit()
    session.refresh(row)
    return row, f"taito_{prefix}_{secret}"


def api_keys(session: Session, caller: Caller, institution: Institution) -> list[ApiKey]:
    authorize(caller, institution, "issuer:admin")
    return list(
        session.exec(
            select(ApiKey).where(ApiKey.issuer_id == institution.id).order_by(col(ApiKey.id))
        )
    )


def revoke_api_key(
    session: Session, context: IssuerContext, caller: Caller, institution: Institution, key_id: int
) -> ApiKey:
    authorize(caller, institution, "issuer:admin")
    row = session.get(ApiKey, key_id)
    if row is None or row.issuer_id != institution.id:
        raise NotFound("There is no such API key.")
    if row.revoked_at is None:
        row.revoked_at = context.clock()
        session.add(row)
        assert institution.id is not None
        audit.record(session, caller, institution.id, "api_key.revoked", row.prefix)
        session.commit()
        session.refresh(row)
    return row


def install_seal_chain(
    session: Session, context: IssuerContext, caller: Caller, institution: Institution, pem: str
) -> list[Any]:
    """Install a seal certificate chain; its leaf must certify the active P-256 key."""
    authorize(caller, institution, "issuer:admin")
    assert institution.id is not None
    try:
        chain = x509.load_pem_chain(pem.encode())
        leaf_key = x509.public_key_of(chain[0])
    except TaitoError as exc:
        raise ValidationFailed(
            "The certificate chain is not valid PEM.",
            extra={"errors": [{"path": "body", "message": exc.detail}]},
        ) from exc
    active = context.keys().active(session, owner(institution.slug), "p256")
    if active is None or active.public_key != leaf_key:
        raise Conflict("The seal certificate must certify the institution's active P-256 key.")
    institution.seal_chain_pem = x509.dump_pem(chain).decode()
    session.add(institution)
    audit.record(
        session,
        caller,
        institution.id,
        "seal_certificate.installed",
        chain[0].subject.rfc4514_string(),
    )
    session.commit()
    return chain


def renew_seal_certificate(
    session: Session, context: IssuerContext, caller: Caller, institution: Institution
) -> x509.Certificate:
    """The configured CA certifies the institution's current seal key again: a certificate of
    today's profile (with its CRL and OCSP addresses, which certificates from before the CA kept
    records lack) for the key of the installed one. The old certificate stays valid, as on a key
    rotation. A key whose certificate was revoked is not certified again: rotate it."""
    authorize(caller, institution, "issuer:admin")
    assert institution.id is not None
    seal_ca.configured(context)
    leaf = seal_ca.installed(institution)
    if leaf is None:
        raise Conflict(
            "No seal certificate is installed (a revoked one is uninstalled): rotate the p256 "
            "key (keys/rotate) and the CA certifies the new key."
        )
    if not seal_ca.issued_by_ca(context, leaf):
        raise Conflict("The installed seal certificate is another CA's: this CA renews its own.")
    key = active_key(session, context, institution, "p256").public_key
    if x509.public_key_of(leaf) != key:
        raise Conflict("The installed seal certificate is not for the current p256 key.")
    certificate = seal_ca.certify(session, context, institution, key)
    audit.record(
        session, caller, institution.id, "seal_certificate.issued", f"{certificate.serial_number:x}"
    )
    session.commit()
    return certificate


def revoke_seal_certificate(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    serial: str | None,
    reason: str,
) -> SealCertificate:
    """Revoke a seal certificate the configured CA issued to the institution (RFC 5280 §5.3.1)."""
    authorize(caller, institution, "issuer:admin")
    assert institution.id is not None
    row = seal_ca.revoke(session, context, institution, serial, reason)
    audit.record(
        session, caller, institution.id, "seal_certificate.revoked", row.serial, reason=row.reason
    )
    session.commit()
    session.refresh(row)
    return row
