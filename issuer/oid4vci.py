"""OpenID for Verifiable Credential Issuance 1.0 (Final): the issuer's use cases.

The credential issuer identifier of an institution is ``<public URL>/issuers/<slug>``; it is its
own OAuth authorization server (RFC 8414), offering the **pre-authorized code** grant only:

1. the registrar makes an offer (``POST /issuers/{slug}/offers``), by value or by reference
   (``credential_offer_uri``), optionally protected by a ``tx_code`` PIN sent out of band;
2. the wallet redeems the pre-authorized code at the token endpoint (§6), once;
3. it asks the nonce endpoint for a ``c_nonce`` (§7) and signs one proof JWT per key (Appendix
   F.1), then calls the credential endpoint (§8); each credential is bound to one proof key:
   ``cnf.jwk`` in SD-JWT VC, ``credentialSubject.id`` (the key's ``did:key`` / ``did:jwk``) in
   Open Badges;
4. an offer for a row of a bulk batch that the workers have not signed yet answers 202 with a
   ``transaction_id`` (§8.3) and is picked up at the deferred credential endpoint (§9);
5. the wallet reports what it did with the credentials at the notification endpoint (§11).

Errors are :class:`schemas.oauth.OAuthError` with the codes the specification names.
Every credential goes through :func:`issuer.issuance.issue` (validation, status entries, audit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer import achievements, audit, institutions, issuance
from issuer.batch_tables import DONE, FAILED, INVALID, Batch, BatchRow
from issuer.context import Caller, IssuerContext, aware
from issuer.errors import NotFound, UnknownFormat
from issuer.formats import open_badges, sd_jwt_vc
from issuer.models import CredentialIssue
from issuer.oid4vci_tables import AccessToken, CredentialOffer, Nonce, Notification, Transaction
from issuer.tables import Institution, IssuedCredential
from keys import base64url, jose
from keys.did import default_method_id, resolve_offline, split_did_url
from keys.jwk import PublicKey, public_key_from_jwk
from schemas import strict_json
from schemas.errors import TaitoError, ValidationFailed
from schemas.learning import Evidence, Recipient, ResultValue, text_in
from schemas.oauth import OAuthError
from schemas.qr import qr_png, qr_svg

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
PROOF_TYP = "openid4vci-proof+jwt"  # Appendix F.1
DPOP_TYP = "dpop+jwt"  # RFC 9449 §4.2
PROOF_ALGORITHMS = ("EdDSA", "ES256")
MAX_TX_CODE_ATTEMPTS = 5
BATCH_SIZE = 10
TOKEN_LIFETIME = timedelta(hours=1)
NONCE_LIFETIME = timedelta(minutes=5)
PROOF_MAX_AGE = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=60)
DEFERRED_INTERVAL = 5  # seconds the wallet waits before asking again (§8.3)
LANGUAGES = ("fi", "sv", "en")


@dataclass(frozen=True)
class Configuration:
    """One entry of ``credential_configurations_supported`` and the Taito format it issues."""

    id: str
    format: str  # OpenID4VCI format identifier
    taito_format: str  # issuer.models.Format
    names: Mapping[str, str]


CONFIGURATIONS: dict[str, Configuration] = {
    c.id: c
    for c in (
        Configuration(
            "OpenBadgeCredential_ldp_vc",
            "ldp_vc",
            "ob3-di",
            {"fi": "Osaamismerkki", "sv": "Kompetensmärke", "en": "Open Badge"},
        ),
        Configuration(
            "OpenBadgeCredential_jwt_vc_json",
            "jwt_vc_json",
            "ob3-jwt",
            {"fi": "Osaamismerkki (JWT)", "sv": "Kompetensmärke (JWT)", "en": "Open Badge (JWT)"},
        ),
        Configuration(
            "LearningCredential_dc+sd-jwt",
            "dc+sd-jwt",
            "sd-jwt-vc",
            {"fi": "Opintosuoritus", "sv": "Studieprestation", "en": "Learning credential"},
        ),
    )
}
BY_TAITO_FORMAT = {c.taito_format: c.id for c in CONFIGURATIONS.values()}


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- identifiers and metadata --------------------------------------------------------------------


def issuer_identifier(context: IssuerContext, slug: str) -> str:
    return f"{context.public_url.rstrip('/')}/issuers/{slug}"


def endpoint(context: IssuerContext, slug: str, name: str) -> str:
    return f"{issuer_identifier(context, slug)}/oid4vci/{name}"


def _display_names(institution: Institution) -> list[dict[str, Any]]:
    names = institution.profile["legal_name"]
    entries = []
    for lang in LANGUAGES:
        entry: dict[str, Any] = {"name": text_in(names, lang), "locale": lang}
        logo = institution.profile.get("logo")
        if isinstance(logo, str) and logo.startswith("https://"):
            entry["logo"] = {"uri": logo, "alt_text": text_in(names, lang)}
        entries.append(entry)
    return entries


_CLAIM_LABELS: dict[str, tuple[list[str], dict[str, str]]] = {
    "achievement": (
        ["credentialSubject", "achievement", "name"],
        {"fi": "Suoritus", "sv": "Prestation", "en": "Achievement"},
    ),
    "issuer": (["issuer", "name"], {"fi": "Myöntäjä", "sv": "Utfärdare", "en": "Issuer"}),
}


def _configuration(context: IssuerContext, config: Configuration) -> dict[str, Any]:
    """One credential configuration (§12.2.4; format profiles in Appendix A)."""
    display = [{"name": config.names[lang], "locale": lang} for lang in LANGUAGES]
    proof_types = {"jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}}
    entry: dict[str, Any] = {"format": config.format, "scope": config.id}
    if config.format == "dc+sd-jwt":
        # Appendix A.3: SD-JWT VC, the type is the vct; the holder key travels as cnf.jwk.
        entry.update(
            {
                "vct": sd_jwt_vc.vct(context.public_url),
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["ES256", "EdDSA"],
            }
        )
        claims = [
            {"path": ["achievement", "name"], "display": _labels("achievement")},
            {"path": ["issuer_name"], "display": _labels("issuer")},
            {"path": ["given_name"]},
            {"path": ["family_name"]},
        ]
    else:
        types = ["VerifiableCredential", "OpenBadgeCredential"]
        definition: dict[str, Any] = {"type": types}
        if config.format == "ldp_vc":
            # Appendix A.1.2: JSON-LD credentials name their contexts; Data Integrity suites.
            definition = {"@context": [open_badges.VC_V2, open_badges.OB_V3], "type": types}
            algorithms = ["eddsa-rdfc-2022", "ecdsa-rdfc-2019"]
        else:
            algorithms = ["RS256", "EdDSA", "ES256"]
        entry.update(
            {
                "credential_definition": definition,
                "cryptographic_binding_methods_supported": ["did:key", "did:jwk"],
                "credential_signing_alg_values_supported": algorithms,
            }
        )
        claims = [
            {"path": _CLAIM_LABELS["achievement"][0], "display": _labels("achievement")},
            {"path": _CLAIM_LABELS["issuer"][0], "display": _labels("issuer")},
        ]
    entry["proof_types_supported"] = proof_types
    # §12.2.4: display and claims live in credential_metadata (1.0 Final).
    entry["credential_metadata"] = {"display": display, "claims": claims}
    return entry


def _labels(name: str) -> list[dict[str, str]]:
    return [{"name": label, "locale": lang} for lang, label in _CLAIM_LABELS[name][1].items()]


def issuer_metadata(context: IssuerContext, institution: Institution) -> dict[str, Any]:
    """Credential Issuer Metadata (§12.2), served path-aware under ``/.well-known/...`` (§12.2.2)."""
    slug = institution.slug
    return {
        "credential_issuer": issuer_identifier(context, slug),
        "credential_endpoint": endpoint(context, slug, "credential"),
        "nonce_endpoint": endpoint(context, slug, "nonce"),
        "deferred_credential_endpoint": endpoint(context, slug, "deferred"),
        "notification_endpoint": endpoint(context, slug, "notification"),
        "batch_credential_issuance": {"batch_size": BATCH_SIZE},
        "display": _display_names(institution),
        "credential_configurations_supported": {
            c.id: _configuration(context, c) for c in CONFIGURATIONS.values()
        },
    }


def authorization_server_metadata(
    context: IssuerContext, institution: Institution
) -> dict[str, Any]:
    """RFC 8414 §2 metadata of the institution's own authorization server (pre-authorized only)."""
    slug = institution.slug
    return {
        "issuer": issuer_identifier(context, slug),
        "token_endpoint": endpoint(context, slug, "token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        # OpenID4VCI §12.3: the token endpoint takes pre-authorized codes without client_id.
        "pre-authorized_grant_anonymous_access_supported": True,
        "dpop_signing_alg_values_supported": list(PROOF_ALGORITHMS),
    }


# --- offers --------------------------------------------------------------------------------------


# The award an offer carries: the fields it shares with POST .../credentials.
AWARD_FIELDS = {"achievement_id", "recipient", "valid_from", "valid_until", "results", "evidence"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OfferCreate(_Body):
    """What to offer: an award (like ``POST .../credentials``) or a row of a bulk batch."""

    achievement_id: str | None = Field(default=None, min_length=1, max_length=36)
    recipient: Recipient | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    results: list[ResultValue] = Field(default_factory=list, max_length=50)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    batch_id: str | None = Field(
        default=None,
        max_length=36,
        description="offer the award of one batch row; issued once the batch has signed it",
    )
    row_key: str | None = Field(default=None, max_length=150)
    credential_configuration_ids: list[str] = Field(
        default_factory=lambda: list(CONFIGURATIONS), min_length=1, max_length=3
    )
    tx_code: bool = Field(default=True, description="protect the offer with a PIN (tx_code)")
    tx_code_length: int = Field(default=6, ge=4, le=8)
    by_reference: bool = Field(
        default=False, description="put a credential_offer_uri in the QR code, not the offer"
    )
    expires_in: int = Field(default=7 * 24 * 3600, ge=60, le=30 * 24 * 3600)


class OfferPublic(BaseModel):
    id: str
    offer_uri: str = Field(description="openid-credential-offer:// URI (what the QR code holds)")
    credential_offer: dict[str, Any] | None = Field(
        description="the offer object (by value); null when offered by reference"
    )
    credential_offer_uri: str | None
    tx_code: str | None = Field(
        description="the PIN to deliver out of band (e-mail, SMS); shown only once"
    )
    expires_at: datetime
    qr_png: str = Field(description="the QR code as a data: URI (image/png)")
    qr_svg: str


def _offer_object(
    context: IssuerContext, institution: Institution, row: CredentialOffer, code: str
) -> dict[str, Any]:
    """The Credential Offer (§4.1.1) with its pre-authorized code grant (§4.1.1, §3.5)."""
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if row.tx_code_hash is not None:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": row.tx_code_length,
            "description": "Syötä sähköpostilla saamasi PIN-koodi / "
            "Ange PIN-koden du fick per e-post / "
            "Enter the PIN code you received by e-mail",
        }
    return {
        "credential_issuer": issuer_identifier(context, institution.slug),
        "credential_configuration_ids": list(row.configuration_ids),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def _code_from_reference(reference: str) -> str:
    """The pre-authorized code of an offer by reference: derived, so neither is stored."""
    return base64url.encode(hashlib.sha256(b"pre-authorized_code:" + reference.encode()).digest())


def _offer_request(
    session: Session, institution: Institution, body: OfferCreate
) -> tuple[dict[str, Any], int | None]:
    """``(award request, batch row id)`` of a valid offer; raises on a bad combination."""
    if body.batch_id is not None:
        if body.row_key is None or body.achievement_id is not None or body.recipient is not None:
            raise ValidationFailed(
                "Offer a batch row with batch_id and row_key only.",
                extra={"errors": [{"path": "body.row_key", "message": "batch_id needs row_key"}]},
            )
        batch = session.get(Batch, body.batch_id)
        if batch is None or batch.issuer_id != institution.id:
            raise NotFound("The institution has no such batch.")
        row = session.exec(
            select(BatchRow).where(BatchRow.batch_id == batch.id, BatchRow.row_key == body.row_key)
        ).first()
        if row is None or row.state == INVALID:
            raise NotFound("The batch has no valid row with this row_key.")
        return {"batch_id": batch.id, "achievement_id": batch.achievement_id}, row.id
    if body.achievement_id is None or body.recipient is None:
        raise ValidationFailed(
            "An offer needs achievement_id and recipient (or batch_id and row_key).",
            extra={"errors": [{"path": "body.recipient", "message": "missing"}]},
        )
    achievements.get(session, institution, body.achievement_id)
    did = body.recipient.did
    if did is not None and not did.startswith(("did:key:", "did:jwk:")):
        raise ValidationFailed(
            "An offered credential is bound to the wallet's key: a recipient DID must be a "
            "did:key or did:jwk the wallet proves it holds.",
            extra={"errors": [{"path": "body.recipient.did", "message": "not did:key/did:jwk"}]},
        )
    request = CredentialIssue.model_validate(body.model_dump(include=AWARD_FIELDS)).model_dump(
        mode="json", exclude={"formats", "holder_jwk"}
    )
    return request, None


def create_offer(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    body: OfferCreate,
) -> OfferPublic:
    institutions.authorize(caller, institution, "credentials:issue")
    assert institution.id is not None
    unknown = [c for c in body.credential_configuration_ids if c not in CONFIGURATIONS]
    if unknown:
        raise UnknownFormat(
            f"Unknown credential configuration {unknown[0]!r}; known: {', '.join(CONFIGURATIONS)}."
        )
    request, batch_row_id = _offer_request(session, institution, body)
    now = context.clock()
    reference = secrets.token_urlsafe(32) if body.by_reference else None
    code = _code_from_reference(reference) if reference else secrets.token_urlsafe(32)
    pin = (
        "".join(str(secrets.randbelow(10)) for _ in range(body.tx_code_length))
        if body.tx_code
        else None
    )
    row = CredentialOffer(
        issuer_id=institution.id,
        code_hash=_hash(code),
        reference_hash=_hash(reference) if reference else None,
        tx_code_hash=_hash(f"{code}:{pin}") if pin else None,
        tx_code_length=body.tx_code_length if pin else None,
        configuration_ids=list(dict.fromkeys(body.credential_configuration_ids)),
        request=request,
        batch_row_id=batch_row_id,
        actor=caller.actor,
        expires_at=now + timedelta(seconds=body.expires_in),
    )
    session.add(row)
    audit.record(
        session,
        caller,
        institution.id,
        "offer.created",
        row.id,
        configurations=row.configuration_ids,
        tx_code=pin is not None,
        by_reference=reference is not None,
    )
    session.commit()
    offer = _offer_object(context, institution, row, code)
    # §4.1: credential_offer or credential_offer_uri, URL-encoded into the offer URI.
    if reference is not None:
        offer_uri_value = f"{endpoint(context, institution.slug, 'offers')}/{reference}"
        uri = OFFER_SCHEME + "?" + urllib.parse.urlencode({"credential_offer_uri": offer_uri_value})
    else:
        offer_uri_value = None
        compact = json.dumps(offer, separators=(",", ":"), ensure_ascii=False)
        uri = OFFER_SCHEME + "?" + urllib.parse.urlencode({"credential_offer": compact})
    return OfferPublic(
        id=row.id,
        offer_uri=uri,
        credential_offer=None if reference else offer,
        credential_offer_uri=offer_uri_value,
        tx_code=pin,
        expires_at=row.expires_at,
        qr_png="data:image/png;base64," + base64.b64encode(qr_png(uri)).decode("ascii"),
        qr_svg=qr_svg(uri),
    )


def offer_for_issue(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    body: CredentialIssue,
) -> OfferPublic:
    """``POST .../credentials?delivery=offer``: the same award, delivered by OpenID4VCI."""
    unsupported = [f for f in body.formats if f not in BY_TAITO_FORMAT]
    if unsupported:
        raise UnknownFormat(
            f"The format {unsupported[0]!r} cannot be offered over OpenID4VCI; "
            f"offer {', '.join(BY_TAITO_FORMAT)}."
        )
    offer = OfferCreate.model_validate(
        {
            **body.model_dump(include=AWARD_FIELDS),
            "credential_configuration_ids": [BY_TAITO_FORMAT[f] for f in body.distinct_formats],
        }
    )
    return create_offer(session, context, caller, institution, offer)


def offer_by_reference(
    session: Session, context: IssuerContext, institution: Institution, reference: str
) -> dict[str, Any]:
    """The offer behind a ``credential_offer_uri`` (§4.1.3): served once, until it expires."""
    now = context.clock()
    row = session.exec(
        select(CredentialOffer).where(
            CredentialOffer.reference_hash == _hash(reference),
            CredentialOffer.issuer_id == institution.id,
        )
    ).first()
    gone = OAuthError(
        "invalid_request", "This credential offer is unknown, expired or used.", http_status=404
    )
    if row is None or aware(row.expires_at) <= now or row.redeemed_at is not None:
        raise gone
    claimed = session.execute(
        update(CredentialOffer)
        .where(
            col(CredentialOffer.id) == row.id, col(CredentialOffer.reference_fetched_at).is_(None)
        )
        .values(reference_fetched_at=now)
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise gone
    return _offer_object(context, institution, row, _code_from_reference(reference))


# --- DPoP (RFC 9449) -----------------------------------------------------------------------------


def _jwt_claims(token: str, typ: str, error: str) -> tuple[dict[str, Any], PublicKey]:
    """Verify a JWT signed by the key in its own header (``jwk``) or ``kid`` (did:key/did:jwk)."""
    try:
        decoded = jose.decode_unverified(token, max_bytes=16 * 1024)
        if not jose.typ_matches(decoded.header.get("typ"), typ):
            raise OAuthError(error, f"The JWT's typ must be {typ}.")
        keys: list[PublicKey] = []

        def resolve(header: Mapping[str, Any]) -> PublicKey:
            key = _header_key(header, error)
            keys.append(key)
            return key

        result = jose.verify_decoded(decoded, algorithms=PROOF_ALGORITHMS, resolve_key=resolve)
        claims = strict_json.loads(result.payload, max_bytes=16 * 1024, max_depth=4)
    except OAuthError:
        raise
    except TaitoError as exc:
        raise OAuthError(error, f"The JWT is not valid: {exc.detail}") from exc
    if not isinstance(claims, dict):
        raise OAuthError(error, "The JWT payload is not a JSON object.")
    return claims, keys[0]


def _header_key(header: Mapping[str, Any], error: str) -> PublicKey:
    """Appendix F.1: exactly one of ``kid`` (a DID URL) and ``jwk``; ``x5c`` is not supported."""
    named = [name for name in ("kid", "jwk", "x5c") if name in header]
    if error == "invalid_dpop_proof":
        named = [n for n in named if n != "kid"]
        if named != ["jwk"]:
            raise OAuthError(error, "A DPoP proof carries its public key as 'jwk' (RFC 9449 §4.2).")
    elif len(named) != 1 or named[0] == "x5c":
        raise OAuthError(error, "The proof names its key by exactly one of 'kid' (DID) or 'jwk'.")
    if "jwk" in header:
        return public_key_from_jwk(header["jwk"])
    kid = header["kid"]
    did, _ = split_did_url(kid)
    if not did.startswith(("did:key:", "did:jwk:")) or "#" not in kid:
        raise OAuthError(error, "The proof's kid must be a did:key or did:jwk DID URL.")
    return resolve_offline(kid).public_key


def _fresh_iat(claims: Mapping[str, Any], now: datetime, error: str) -> None:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise OAuthError(error, "The JWT has no numeric 'iat'.")
    try:
        moment = datetime.fromtimestamp(iat, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise OAuthError(error, "The JWT's 'iat' is not a date.") from exc
    if moment > now + CLOCK_SKEW or moment < now - PROOF_MAX_AGE:
        raise OAuthError(error, "The JWT's 'iat' is not recent.")


def _check_dpop(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    proof: str,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
) -> str:
    """Check a DPoP proof (RFC 9449 §4.3) and return its key's thumbprint (``jkt``)."""
    error = "invalid_dpop_proof"
    claims, key = _jwt_claims(proof, DPOP_TYP, error)
    now = context.clock()
    if claims.get("htm") != method or claims.get("htu") != url:
        raise OAuthError(error, "The DPoP proof is for another method or URL (htm / htu).")
    _fresh_iat(claims, now, error)
    if access_token is not None:
        expected = base64url.encode(hashlib.sha256(access_token.encode()).digest())
        if not hmac.compare_digest(str(claims.get("ath", "")), expected):
            raise OAuthError(error, "The DPoP proof's 'ath' is not the access token's hash.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise OAuthError(error, "The DPoP proof has no 'jti'.")
    assert institution.id is not None
    session.add(
        Nonce(
            value_hash=_hash(f"dpop:{jti}"),
            issuer_id=institution.id,
            kind="dpop_jti",
            expires_at=now + PROOF_MAX_AGE + CLOCK_SKEW,
            used_at=now,
        )
    )
    try:
        session.commit()  # §11.1: a jti seen before is a replay
    except IntegrityError:
        session.rollback()
        raise OAuthError(error, "This DPoP proof was used before.") from None
    return key.thumbprint()


# --- token endpoint (§6) -------------------------------------------------------------------------


def token(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    form: Mapping[str, str],
    dpop: str | None,
) -> dict[str, Any]:
    """Redeem a pre-authorized code (§6.1) for an access token (§6.2); errors per §6.3."""
    grant_type = form.get("grant_type")
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise OAuthError("unsupported_grant_type", "Only the pre-authorized code grant is offered.")
    code = form.get("pre-authorized_code")
    if not code:
        raise OAuthError("invalid_request", "The pre-authorized_code parameter is missing.")
    now = context.clock()
    row = session.exec(
        select(CredentialOffer).where(
            CredentialOffer.code_hash == _hash(code),
            CredentialOffer.issuer_id == institution.id,
        )
    ).first()
    if row is None or aware(row.expires_at) <= now:
        raise OAuthError("invalid_grant", "The pre-authorized code is unknown or expired.")
    if row.redeemed_at is not None:
        raise OAuthError("invalid_grant", "The pre-authorized code has been used.")
    tx_code = form.get("tx_code")
    if row.tx_code_hash is not None:
        if not tx_code:
            raise OAuthError("invalid_request", "This offer needs its tx_code (§6.1).")
        # Reserve one attempt before comparing, in one conditional UPDATE: however many guesses
        # arrive in parallel, at most MAX_TX_CODE_ATTEMPTS are ever compared.
        reserved = session.execute(
            update(CredentialOffer)
            .where(
                col(CredentialOffer.id) == row.id,
                col(CredentialOffer.tx_code_attempts) < MAX_TX_CODE_ATTEMPTS,
            )
            .values(tx_code_attempts=col(CredentialOffer.tx_code_attempts) + 1)
        )
        session.commit()
        if reserved.rowcount != 1:  # type: ignore[attr-defined]
            raise OAuthError("invalid_grant", "Too many wrong transaction codes: offer locked.")
        if not hmac.compare_digest(row.tx_code_hash, _hash(f"{code}:{tx_code}")):
            raise OAuthError("invalid_grant", "The transaction code is wrong.")
    elif tx_code is not None:
        raise OAuthError("invalid_request", "This offer has no tx_code; do not send one.")
    jkt = (
        _check_dpop(
            session,
            context,
            institution,
            dpop,
            method="POST",
            url=endpoint(context, institution.slug, "token"),
        )
        if dpop is not None
        else None
    )
    redeemed = session.execute(
        update(CredentialOffer)
        .where(
            col(CredentialOffer.id) == row.id,
            col(CredentialOffer.redeemed_at).is_(None),
        )
        .values(redeemed_at=now)
    )
    if redeemed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise OAuthError("invalid_grant", "The pre-authorized code has been used.")
    access_token = secrets.token_urlsafe(32)
    session.add(
        AccessToken(
            token_hash=_hash(access_token),
            offer_id=row.id,
            dpop_jkt=jkt,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    session.commit()
    return {
        "access_token": access_token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": int(TOKEN_LIFETIME.total_seconds()),
    }


# --- nonce endpoint (§7) -------------------------------------------------------------------------


def new_nonce(session: Session, context: IssuerContext, institution: Institution) -> str:
    """A fresh ``c_nonce``; expired nonces and DPoP jtis are swept on the way."""
    assert institution.id is not None
    now = context.clock()
    session.execute(delete(Nonce).where(col(Nonce.expires_at) < now))
    value = secrets.token_urlsafe(24)
    session.add(
        Nonce(
            value_hash=_hash(f"c_nonce:{value}"),
            issuer_id=institution.id,
            kind="c_nonce",
            expires_at=now + NONCE_LIFETIME,
        )
    )
    session.commit()
    return value


def _use_nonce(session: Session, institution: Institution, value: str, now: datetime) -> bool:
    used = session.execute(
        update(Nonce)
        .where(
            col(Nonce.value_hash) == _hash(f"c_nonce:{value}"),
            col(Nonce.issuer_id) == institution.id,
            col(Nonce.kind) == "c_nonce",
            col(Nonce.used_at).is_(None),
            col(Nonce.expires_at) > now,
        )
        .values(used_at=now)
    )
    session.commit()
    return bool(used.rowcount == 1)  # type: ignore[attr-defined]


# --- the protected endpoints ---------------------------------------------------------------------


def _unauthorized(error: str, description: str, scheme: str = "Bearer") -> OAuthError:
    # RFC 6750 §3: 401 with a WWW-Authenticate challenge naming the error.
    return OAuthError(
        error,
        description,
        http_status=401,
        headers={"WWW-Authenticate": f'{scheme} error="{error}"'},
    )


def authenticate(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    authorization: str | None,
    dpop: str | None,
    endpoint_name: str,
) -> CredentialOffer:
    """The offer behind a Bearer (RFC 6750) or DPoP-bound (RFC 9449 §7) access token."""
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() not in ("bearer", "dpop") or not value:
        raise _unauthorized("invalid_token", "Send the access token from the token endpoint.")
    row = session.get(AccessToken, _hash(value))
    now = context.clock()
    if row is None or aware(row.expires_at) <= now:
        raise _unauthorized("invalid_token", "The access token is unknown or expired.")
    if row.dpop_jkt is not None:
        if scheme.lower() != "dpop" or dpop is None:
            raise _unauthorized("invalid_token", "This access token is DPoP-bound.", "DPoP")
        try:
            jkt = _check_dpop(
                session,
                context,
                institution,
                dpop,
                method="POST",
                url=endpoint(context, institution.slug, endpoint_name),
                access_token=value,
            )
        except OAuthError as exc:  # RFC 9449 §7.1: at a resource, 401 with a DPoP challenge
            raise _unauthorized(exc.error, exc.detail, "DPoP") from exc
        if jkt != row.dpop_jkt:
            raise _unauthorized("invalid_dpop_proof", "The DPoP key is not the token's.", "DPoP")
    elif scheme.lower() != "bearer":
        raise _unauthorized("invalid_token", "This access token is a Bearer token.")
    offer = session.get(CredentialOffer, row.offer_id)
    if offer is None or offer.issuer_id != institution.id:
        raise _unauthorized("invalid_token", "The access token is not for this issuer.")
    return offer


def _json_object(body: bytes, error: str) -> dict[str, Any]:
    try:
        value = strict_json.loads(body, max_bytes=256 * 1024, max_depth=8)
    except TaitoError as exc:
        raise OAuthError(error, f"The request body is not JSON: {exc.detail}") from exc
    if not isinstance(value, dict):
        raise OAuthError(error, "The request body must be a JSON object.")
    return value


@dataclass(frozen=True)
class HolderKey:
    key: PublicKey

    @property
    def did(self) -> str:
        return split_did_url(default_method_id(self.key))[0]

    @property
    def thumbprint(self) -> str:
        return self.key.thumbprint()


def _proof_keys(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    proofs: Any,
) -> list[HolderKey]:
    """Verify the ``jwt`` proofs (§8.2.1, Appendix F.1, F.4) and use their one c_nonce."""
    if not isinstance(proofs, dict) or list(proofs) != ["jwt"]:
        raise OAuthError(
            "invalid_proof", "Send proofs as {'jwt': [...]}: the only proof type offered."
        )
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts or not all(isinstance(j, str) for j in jwts):
        raise OAuthError("invalid_credential_request", "proofs.jwt must be a list of JWTs.")
    if len(jwts) > BATCH_SIZE:
        raise OAuthError(
            "invalid_credential_request", f"At most {BATCH_SIZE} proofs (batch_size) per request."
        )
    now = context.clock()
    audience = issuer_identifier(context, institution.slug)
    keys: list[HolderKey] = []
    nonces: set[Any] = set()
    for proof in jwts:
        claims, key = _jwt_claims(proof, PROOF_TYP, "invalid_proof")
        aud = claims.get("aud")
        if aud != audience and not (isinstance(aud, list) and audience in aud):
            raise OAuthError("invalid_proof", "The proof's 'aud' is not this credential issuer.")
        _fresh_iat(claims, now, "invalid_proof")
        nonces.add(claims.get("nonce"))
        keys.append(HolderKey(key))
    if len({k.thumbprint for k in keys}) != len(keys):
        raise OAuthError("invalid_proof", "Each proof in a batch must be made with another key.")
    # Appendix F.4: the nonce is the c_nonce from the nonce endpoint, unused, not expired.
    if len(nonces) != 1 or not isinstance(next(iter(nonces)), str):
        raise OAuthError("invalid_nonce", "Every proof must carry the c_nonce; ask for a new one.")
    if not _use_nonce(session, institution, next(iter(nonces)), now):
        raise OAuthError("invalid_nonce", "The c_nonce is unknown, used or expired.")
    return keys


def _caller(offer: CredentialOffer) -> Caller:
    return Caller(
        f"oid4vci:offer:{offer.id}", offer.issuer_id, frozenset({"credentials:issue"}), None
    )


def _issue_bound(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    offer: CredentialOffer,
    request: Mapping[str, Any],
    config: Configuration,
    keys: list[HolderKey],
) -> list[Any]:
    """One credential per holder key, each bound to it, each through the issuance use case."""
    credentials: list[Any] = []
    for holder in keys:
        data = {k: v for k, v in request.items() if k not in ("formats", "holder_jwk")}
        recipient = dict(data["recipient"])
        if config.taito_format == "sd-jwt-vc":
            data["holder_jwk"] = holder.key.to_jwk()  # SD-JWT VC §3.2.2.2: cnf.jwk
        elif recipient.get("did") not in (None, holder.did):
            raise OAuthError("invalid_proof", "The offer is for another DID than the proof key's.")
        else:
            recipient["did"] = holder.did  # the subject is the holder: OB 3.0 credentialSubject.id
        data["recipient"] = recipient
        body = CredentialIssue.model_validate({**data, "formats": [config.taito_format]})
        row, _ = issuance.issue(
            session,
            context,
            _caller(offer),
            institution,
            body,
            f"oid4vci:{offer.id}:{config.id}:{holder.thumbprint}"[:200],
        )
        text = issuance.document(row, config.taito_format)
        credentials.append(json.loads(text) if config.format == "ldp_vc" else text)
    return credentials


def _claim_configuration(session: Session, offer: CredentialOffer, config_id: str) -> str:
    """Claim the configuration (once per offer: the unique constraint decides between concurrent
    requests) and return a new ``notification_id`` for it."""
    notification_id = secrets.token_urlsafe(24)
    session.add(
        Notification(
            id_hash=_hash(notification_id),
            offer_id=offer.id,
            configuration_id=config_id,
            credential_ids=[],
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise OAuthError(
            "credential_request_denied", "This credential of the offer was already requested."
        ) from None
    return notification_id


def _claimed(session: Session, offer_id: str, config_id: str) -> Notification | None:
    return session.exec(
        select(Notification).where(
            Notification.offer_id == offer_id, Notification.configuration_id == config_id
        )
    ).first()


def _release_configuration(session: Session, offer_id: str, config_id: str) -> None:
    """Undo :func:`_claim_configuration` after a failed issuance, so the wallet may retry."""
    session.rollback()
    session.execute(
        delete(Notification).where(
            col(Notification.offer_id) == offer_id, col(Notification.configuration_id) == config_id
        )
    )
    session.commit()


def _issued_ids(session: Session, offer_id: str, config_id: str) -> list[str]:
    prefix = f"oid4vci:{offer_id}:{config_id}:"
    rows = session.exec(
        select(IssuedCredential.id).where(col(IssuedCredential.idempotency_key).startswith(prefix))
    ).all()
    return [str(r) for r in rows]


def _delivered(
    session: Session, offer_id: str, config_id: str, credentials: list[Any]
) -> CredentialResult:
    """The credential response (§8.3, §9.2) with the notification_id of what it delivered."""
    row = _claimed(session, offer_id, config_id)
    assert row is not None
    notification_id = secrets.token_urlsafe(24)
    row.id_hash = _hash(notification_id)
    row.credential_ids = _issued_ids(session, offer_id, config_id)
    session.add(row)
    session.commit()
    return CredentialResult(
        200,
        {
            "credentials": [{"credential": c} for c in credentials],
            "notification_id": notification_id,
        },
    )


@dataclass(frozen=True)
class CredentialResult:
    status: Literal[200, 202]
    body: dict[str, Any]


def credential(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    offer: CredentialOffer,
    raw: bytes,
) -> CredentialResult:
    """The credential endpoint (§8): verify proofs, issue one bound credential per key (§8.3)."""
    body = _json_object(raw, "invalid_credential_request")
    if "credential_identifier" in body:
        # Token responses here carry no authorization_details, so no identifiers exist (§6.2).
        raise OAuthError("unknown_credential_identifier", "No credential identifiers are issued.")
    config_id = body.get("credential_configuration_id")
    if not isinstance(config_id, str):
        raise OAuthError(
            "invalid_credential_request", "credential_configuration_id is required (§8.2)."
        )
    if config_id not in CONFIGURATIONS or config_id not in offer.configuration_ids:
        raise OAuthError(
            "unknown_credential_configuration", f"{config_id!r} is not offered to this token."
        )
    if "proof" in body:
        raise OAuthError("invalid_credential_request", "Send 'proofs' (1.0), not 'proof'.")
    if "credential_response_encryption" in body:
        raise OAuthError(
            "invalid_encryption_parameters", "Credential response encryption is not offered."
        )
    if "proofs" not in body:
        raise OAuthError("invalid_proof", "The credential must be bound: send proofs (§8.2).")
    config = CONFIGURATIONS[config_id]
    if _claimed(session, offer.id, config_id) is not None:
        raise OAuthError(
            "credential_request_denied", "This credential of the offer was already requested."
        )
    keys = _proof_keys(session, context, institution, body["proofs"])
    _claim_configuration(session, offer, config_id)
    offer_id = offer.id
    try:
        if offer.batch_row_id is not None:
            return _deferred_or_now(session, context, institution, offer, config, keys)
        credentials = _issue_bound(
            session, context, institution, offer, offer.request, config, keys
        )
    except Exception:
        _release_configuration(session, offer_id, config_id)
        raise
    return _delivered(session, offer_id, config_id, credentials)


def _batch_row(session: Session, offer: CredentialOffer) -> BatchRow:
    row = session.get(BatchRow, offer.batch_row_id)
    if row is None:
        raise OAuthError("credential_request_denied", "The batch row of this offer is gone.")
    return row


def _deferred_or_now(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    offer: CredentialOffer,
    config: Configuration,
    keys: list[HolderKey],
) -> CredentialResult:
    """An offer for a batch row: issue once the batch has signed the row, else defer (§8.3)."""
    row = _batch_row(session, offer)
    if row.state in (FAILED, INVALID):
        raise OAuthError("credential_request_denied", "The batch could not issue this award.")
    transaction_id = secrets.token_urlsafe(24)
    session.add(
        Transaction(
            id_hash=_hash(transaction_id),
            offer_id=offer.id,
            configuration_id=config.id,
            holder_jwks=[k.key.to_jwk() for k in keys],
        )
    )
    session.commit()
    if row.state == DONE:
        return deferred(session, context, institution, offer, transaction_id)
    return CredentialResult(202, {"transaction_id": transaction_id, "interval": DEFERRED_INTERVAL})


def deferred(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    offer: CredentialOffer,
    transaction_id: Any,
) -> CredentialResult:
    """The deferred credential endpoint (§9): the credentials once the batch row is signed."""
    if not isinstance(transaction_id, str):
        raise OAuthError("invalid_transaction_id", "transaction_id is required (§9.1).")
    transaction = session.get(Transaction, _hash(transaction_id))
    if transaction is None or transaction.offer_id != offer.id or transaction.state != "pending":
        raise OAuthError("invalid_transaction_id", "The transaction is unknown or finished.")
    row = _batch_row(session, offer)
    if row.state in (FAILED, INVALID):
        transaction.state = "denied"
        session.add(transaction)
        session.commit()
        raise OAuthError("credential_request_denied", "The batch could not issue this award.")
    if row.state != DONE or row.request is None:
        # §9.2: not ready yet - the same transaction_id and the interval to wait again.
        return CredentialResult(
            202, {"transaction_id": transaction_id, "interval": DEFERRED_INTERVAL}
        )
    config = CONFIGURATIONS[transaction.configuration_id]
    keys = [HolderKey(public_key_from_jwk(jwk)) for jwk in transaction.holder_jwks]
    credentials = _issue_bound(session, context, institution, offer, row.request, config, keys)
    transaction.state = "issued"
    session.add(transaction)
    session.commit()
    return _delivered(session, offer.id, config.id, credentials)


def deferred_request(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    offer: CredentialOffer,
    raw: bytes,
) -> CredentialResult:
    body = _json_object(raw, "invalid_request")
    return deferred(session, context, institution, offer, body.get("transaction_id"))


EVENTS = ("credential_accepted", "credential_failure", "credential_deleted")


def notify(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    offer: CredentialOffer,
    raw: bytes,
) -> None:
    """The notification endpoint (§11): the wallet's event is recorded in the audit log."""
    body = _json_object(raw, "invalid_notification_request")
    notification_id, event = body.get("notification_id"), body.get("event")
    if not isinstance(notification_id, str):
        raise OAuthError("invalid_notification_request", "notification_id is required (§11.1).")
    if event not in EVENTS:
        raise OAuthError(
            "invalid_notification_request", f"event must be one of {', '.join(EVENTS)}."
        )
    row = session.exec(
        select(Notification).where(Notification.id_hash == _hash(notification_id))
    ).first()
    if row is None or row.offer_id != offer.id:
        raise OAuthError("invalid_notification_id", "The notification_id is unknown.")
    row.event, row.event_at = str(event), context.clock()
    session.add(row)
    assert institution.id is not None
    description = body.get("event_description")
    audit.record(
        session,
        _caller(offer),
        institution.id,
        f"offer.{event}",
        offer.id,
        configuration=row.configuration_id,
        credentials=row.credential_ids,
        description=description[:500] if isinstance(description, str) else None,
    )
    session.commit()


def form_fields(raw: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; a repeated parameter is refused."""
    try:
        pairs = urllib.parse.parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=50
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "The body is not a valid form.") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:  # RFC 6749 §3.1: parameters must not be included more than once
            raise OAuthError("invalid_request", f"The parameter {name!r} is repeated.")
        fields[name] = value
    return fields
