"""The issuer API under ``/issuers``. Handlers parse, call one use case, return a public model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from issuer import achievements, audit, institutions, issuance, oid4vci, seal_ca
from issuer import status as statuses
from issuer.context import BodyDep, CallerDep, ContextDep, SessionDep
from issuer.formats import sd_jwt_vc
from issuer.models import (
    AchievementPublic,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    AuditEventPublic,
    BulkRevoke,
    ClrRequest,
    CredentialIssue,
    CredentialPublic,
    Format,
    InstitutionCreate,
    InstitutionPublic,
    KeyRotate,
    SealRenewed,
    SealRevoke,
    SealRevoked,
    StatusChange,
    StatusMessageSet,
)
from issuer.tables import AchievementRow, ApiKey, Institution, IssuedCredential
from keys import crl, ocsp
from schemas.learning import AchievementSpec

router = APIRouter(tags=["issuer"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in (
        (401, "No or unknown API key"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Invalid input"),
    )
}
LD_JSON = "application/ld+json"


def _returns(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """PROBLEMS, and the media types a 200 really has (OpenAPI 3.1 §4.8.17), not just JSON."""
    return {**PROBLEMS, 200: {"description": "OK", "content": {m: {} for m in media_types}}}


def _institution_public(session: Any, context: Any, row: Institution) -> InstitutionPublic:
    return InstitutionPublic(
        slug=row.slug,
        did=row.did,
        legal_name=row.profile["legal_name"],
        country=row.profile["country"],
        profile_url=f"{context.public_url.rstrip('/')}/issuers/{row.slug}",
        keys=[k.kid for k in institutions.key_rows(session, context, row) if k.active],
        created_at=row.created_at,
    )


def _key_public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(row, from_attributes=True)


def _achievement_public(
    context: Any, institution: Institution, row: AchievementRow
) -> AchievementPublic:
    return AchievementPublic(
        id=row.id,
        url=achievements.url(context, institution, row.id),
        spec=achievements.spec_of(row),
        created_at=row.created_at,
    )


def _credential_public(row: IssuedCredential) -> CredentialPublic:
    return CredentialPublic(
        id=f"urn:uuid:{row.id}",
        achievement_id=row.achievement_id,
        status=row.status,
        issued_at=row.created_at,
        formats=issuance.public_formats(row),
    )


@router.post(
    "/issuers",
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Create an institution (operator)",
)
def create_institution(
    body: InstitutionCreate, caller: CallerDep, context: ContextDep, session: SessionDep
) -> InstitutionPublic:
    return _institution_public(
        session, context, institutions.create(session, context, caller, body)
    )


@router.get(
    "/issuers/{slug}", responses=_returns(LD_JSON), summary="The institution's Open Badges Profile"
)
def institution_profile(slug: str, session: SessionDep) -> JSONResponse:
    document = institutions.profile_json(institutions.get(session, slug))
    return JSONResponse(document, media_type=LD_JSON)


@router.get(
    "/issuers/{slug}/did.json",
    responses=_returns("application/did+json"),
    summary="The institution's DID document",
)
def did_document(slug: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    document = institutions.did_document(session, context, institutions.get(session, slug))
    return JSONResponse(document, media_type="application/did+json")


@router.post(
    "/issuers/{slug}/keys/rotate",
    status_code=201,
    responses=PROBLEMS,
    summary="Rotate the institution's signing key of one type",
)
def rotate_key(
    slug: str, body: KeyRotate, caller: CallerDep, context: ContextDep, session: SessionDep
) -> dict[str, str]:
    row = institutions.rotate_key(
        session, context, caller, institutions.get(session, slug), body.key_type
    )
    return {"kid": row.kid, "key_type": row.key_type}


@router.post(
    "/issuers/{slug}/api-keys",
    status_code=201,
    responses=PROBLEMS,
    summary="Create an API key (shown once)",
)
def create_api_key(
    slug: str, body: ApiKeyCreate, caller: CallerDep, session: SessionDep
) -> ApiKeyCreated:
    row, secret = institutions.create_api_key(
        session, caller, institutions.get(session, slug), body
    )
    return ApiKeyCreated(**_key_public(row).model_dump(), key=secret)


@router.get("/issuers/{slug}/api-keys", responses=PROBLEMS, summary="List API keys (no secrets)")
def list_api_keys(slug: str, caller: CallerDep, session: SessionDep) -> list[ApiKeyPublic]:
    return [
        _key_public(r)
        for r in institutions.api_keys(session, caller, institutions.get(session, slug))
    ]


@router.delete("/issuers/{slug}/api-keys/{key_id}", responses=PROBLEMS, summary="Revoke an API key")
def revoke_api_key(
    slug: str, key_id: int, caller: CallerDep, context: ContextDep, session: SessionDep
) -> ApiKeyPublic:
    institution = institutions.get(session, slug)
    return _key_public(institutions.revoke_api_key(session, context, caller, institution, key_id))


@router.post(
    "/issuers/{slug}/achievements",
    status_code=201,
    responses=PROBLEMS,
    summary="Create an achievement template",
)
def create_achievement(
    slug: str, body: AchievementSpec, caller: CallerDep, context: ContextDep, session: SessionDep
) -> AchievementPublic:
    institution = institutions.get(session, slug)
    return _achievement_public(
        context, institution, achievements.create(session, caller, institution, body)
    )


@router.get("/issuers/{slug}/achievements", responses=PROBLEMS, summary="List achievements")
def list_achievements(
    slug: str,
    context: ContextDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # SQL BIGINT: larger is a 422
) -> list[AchievementPublic]:
    institution = institutions.get(session, slug)
    return [
        _achievement_public(context, institution, r)
        for r in achievements.listing(session, institution, limit=limit, offset=offset)
    ]


@router.get(
    "/issuers/{slug}/achievements/{achievement_id}",
    responses=_returns(LD_JSON),
    summary="The Open Badges Achievement at its id URL",
)
def get_achievement(
    slug: str, achievement_id: str, context: ContextDep, session: SessionDep
) -> JSONResponse:
    institution = institutions.get(session, slug)
    row = achievements.get(session, institution, achievement_id)
    return JSONResponse(
        achievements.achievement_json(context, institution, row), media_type=LD_JSON
    )


@router.post(
    "/issuers/{slug}/credentials",
    status_code=201,
    responses=PROBLEMS,
    response_model=CredentialPublic,
    summary="Issue a credential in one or more formats (or, with delivery=offer, offer it)",
)
def issue_credential(
    slug: str,
    body: CredentialIssue,
    caller: CallerDep,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    delivery: Annotated[
        Literal["credential", "offer"],
        Query(description="offer: answer with an OpenID4VCI credential offer (POST .../offers)"),
    ] = "credential",
) -> Any:
    if delivery == "offer":
        offer = oid4vci.offer_for_issue(
            session, context, caller, institutions.get(session, slug), body
        )
        return JSONResponse(offer.model_dump(mode="json"), status_code=201)
    row, created = issuance.issue(
        session, context, caller, institutions.get(session, slug), body, idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/issuers/{slug}/credentials/{row.id}"
    return _credential_public(row)


@router.get(
    "/issuers/{slug}/credentials/{credential_id}",
    responses=PROBLEMS,
    summary="Re-deliver an issued credential",
)
def get_credential(
    slug: str, credential_id: str, caller: CallerDep, session: SessionDep
) -> CredentialPublic:
    return _credential_public(
        issuance.get(session, caller, institutions.get(session, slug), credential_id)
    )


@router.get(
    "/issuers/{slug}/credentials/{credential_id}/download/{fmt}",
    responses=_returns(*issuance.MEDIA_TYPES.values()),
    summary="One format, byte for byte as signed",
)
def download_credential(
    slug: str, credential_id: str, fmt: Format, caller: CallerDep, session: SessionDep
) -> Response:
    row = issuance.get(session, caller, institutions.get(session, slug), credential_id)
    return Response(issuance.document(row, fmt), media_type=issuance.MEDIA_TYPES[fmt])


@router.get("/issuers/{slug}/audit", responses=PROBLEMS, summary="The institution's audit log")
def audit_log(
    slug: str,
    caller: CallerDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[AuditEventPublic]:
    institution = institutions.get(session, slug)
    institutions.authorize(caller, institution, "issuer:admin")
    assert institution.id is not None
    return [
        AuditEventPublic.model_validate(e, from_attributes=True)
        for e in audit.events(session, institution.id, limit=limit, before=before)
    ]


@router.get(sd_jwt_vc.VCT_PATH, summary="SD-JWT VC type metadata of learning credentials")
def vct_metadata(context: ContextDep) -> JSONResponse:
    return JSONResponse(sd_jwt_vc.type_metadata(context.public_url))


@router.post(
    "/issuers/{slug}/credentials/revoke",
    responses=PROBLEMS,
    summary="Revoke several credentials at once (all or none)",
)
def bulk_revoke(
    slug: str, body: BulkRevoke, caller: CallerDep, context: ContextDep, session: SessionDep
) -> list[CredentialPublic]:
    rows = statuses.change(
        session, context, caller, institutions.get(session, slug), body.ids, "revoke", body.reason
    )
    return [_credential_public(r) for r in rows]


@router.post(
    "/issuers/{slug}/credentials/{credential_id}/status-message",
    responses=PROBLEMS,
    summary="Set a credential's status message (Bitstring Status List 'message' purpose)",
)
def set_status_message(
    slug: str,
    credential_id: str,
    body: StatusMessageSet,
    caller: CallerDep,
    context: ContextDep,
    session: SessionDep,
) -> CredentialPublic:
    row = statuses.set_message(
        session, context, caller, institutions.get(session, slug), credential_id, body.value
    )
    return _credential_public(row)


@router.post(
    "/issuers/{slug}/credentials/{credential_id}/{action}",
    responses=PROBLEMS,
    summary="Revoke (final), suspend or unsuspend a credential",
)
def change_status(
    slug: str,
    credential_id: str,
    action: Literal["revoke", "suspend", "unsuspend"],
    caller: CallerDep,
    context: ContextDep,
    session: SessionDep,
    body: StatusChange | None = None,
) -> CredentialPublic:
    [row] = statuses.change(
        session,
        context,
        caller,
        institutions.get(session, slug),
        [credential_id],
        action,
        body.reason if body else None,
    )
    return _credential_public(row)


@router.get(
    "/issuers/{slug}/status/{list_id}",
    responses=_returns(
        "application/vc+ld+json", "application/vc+jwt", "application/statuslist+jwt"
    ),
    summary="A status list (Bitstring Status List credential or Token Status List JWT)",
)
def status_list(
    slug: str, list_id: str, request: Request, context: ContextDep, session: SessionDep
) -> Response:
    lst = statuses.published(session, context, slug, list_id)
    accept = request.headers.get("accept", "")
    if lst.kind == "token":
        body, media_type = lst.document or "", "application/statuslist+jwt"
    elif "application/vc+jwt" in accept:
        body, media_type = lst.document_jwt or "", "application/vc+jwt"
    else:
        body, media_type = lst.document or "", "application/vc+ld+json"
    tag = statuses.etag(body)
    headers = {
        "ETag": tag,
        "Cache-Control": f"public, max-age={statuses.MAX_AGE}",
        "Vary": "Accept",
    }
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.post(
    "/issuers/{slug}/clr",
    responses=_returns(LD_JSON),
    summary="A signed CLR 2.0 of a learner's credentials from this institution",
)
def learner_record(
    slug: str, body: ClrRequest, caller: CallerDep, context: ContextDep, session: SessionDep
) -> JSONResponse:
    document = issuance.learner_record(
        session, context, caller, institutions.get(session, slug), body
    )
    return JSONResponse(document, media_type=LD_JSON)


@router.put(
    "/issuers/{slug}/seal-certificate",
    responses=PROBLEMS,
    openapi_extra={
        "requestBody": {
            "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
    summary="Install the seal certificate chain (PEM, leaf first) for ELM / JAdES",
)
def install_seal_certificate(
    slug: str, body: BodyDep, caller: CallerDep, context: ContextDep, session: SessionDep
) -> dict[str, Any]:
    pem = body.decode("utf-8", errors="replace")
    chain = institutions.install_seal_chain(
        session, context, caller, institutions.get(session, slug), pem
    )
    return {"subject": chain[0].subject.rfc4514_string(), "certificates": len(chain)}


# --- the seal CA's certificate, CRL and OCSP responder (issuer/seal_ca.py) -------------------
# Public, as RFC 5280 §4.2.1.13 and RFC 6960 expect; signed documents, so they may travel over http.
SEAL_CA_CACHE = {"Cache-Control": "public, max-age=300"}  # RFC 5019 §6.2: within nextUpdate


@router.get(
    "/seal-ca/certificate",
    responses=_returns(seal_ca.PEM_MEDIA_TYPE),
    summary="The seal CA's certificate (PEM): the trust anchor for the seals it certifies",
)
def seal_ca_certificate(context: ContextDep) -> Response:
    return Response(seal_ca.certificate_pem(context), media_type=seal_ca.PEM_MEDIA_TYPE)


@router.get(
    "/seal-ca/crl",
    responses=_returns(crl.MEDIA_TYPE),
    summary="The seal CA's certificate revocation list (DER, RFC 5280 §5)",
)
def seal_ca_crl(request: Request, context: ContextDep, session: SessionDep) -> Response:
    der = seal_ca.crl(session, context)
    # the CRL is stored: a client that holds this one asks with If-None-Match (RFC 9110 §13.1.2)
    headers = {**SEAL_CA_CACHE, "ETag": statuses.etag(der)}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(der, media_type=crl.MEDIA_TYPE, headers=headers)


@router.get(
    "/seal-ca/ocsp/{encoded:path}",
    responses=_returns(ocsp.RESPONSE_MEDIA_TYPE),
    summary="OCSP over GET: the base64 DER request in the path (RFC 6960 Appendix A.1)",
)
def seal_ca_ocsp_get(encoded: str, context: ContextDep, session: SessionDep) -> Response:
    answer = seal_ca.ocsp_response(session, context, seal_ca.ocsp_request_from_path(encoded))
    return Response(answer, media_type=ocsp.RESPONSE_MEDIA_TYPE, headers=SEAL_CA_CACHE)


@router.post(
    "/seal-ca/ocsp",
    responses=_returns(ocsp.RESPONSE_MEDIA_TYPE),
    openapi_extra={
        "requestBody": {
            "content": {ocsp.REQUEST_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "required": True,
        }
    },
    summary="OCSP over POST: a DER application/ocsp-request (RFC 6960 Appendix A.1)",
)
def seal_ca_ocsp_post(body: BodyDep, context: ContextDep, session: SessionDep) -> Response:
    answer = seal_ca.ocsp_response(session, context, body)
    return Response(answer, media_type=ocsp.RESPONSE_MEDIA_TYPE)


@router.post(
    "/issuers/{slug}/seal-certificate/renew",
    responses=PROBLEMS,
    summary="The server's seal CA certifies the current seal key again (with CRL and OCSP "
    "addresses); the old certificate stays valid",
)
def renew_seal_certificate(
    slug: str, caller: CallerDep, context: ContextDep, session: SessionDep
) -> SealRenewed:
    certificate = institutions.renew_seal_certificate(
        session, context, caller, institutions.get(session, slug)
    )
    return SealRenewed(
        serial=f"{certificate.serial_number:x}",
        not_after=certificate.not_valid_after_utc,
        crl=crl.distribution_points(certificate),
        ocsp=ocsp.responders(certificate),
    )


@router.post(
    "/issuers/{slug}/seal-certificate/revoke",
    responses=PROBLEMS,
    summary="Revoke a seal certificate this server's seal CA issued (CRL and OCSP show it)",
)
def revoke_seal_certificate(
    slug: str, body: SealRevoke, caller: CallerDep, context: ContextDep, session: SessionDep
) -> SealRevoked:
    row = institutions.revoke_seal_certificate(
        session, context, caller, institutions.get(session, slug), body.serial, body.reason
    )
    assert row.revoked_at is not None and row.reason is not None
    return SealRevoked(serial=row.serial, revoked_at=row.revoked_at, reason=row.reason)


@router.get(
    "/issuers/{slug}/credentials/{credential_id}/image.{kind}",
    responses=_returns("image/png", "image/svg+xml"),
    summary="The badge image with the credential baked in (PNG or SVG)",
)
def baked_badge(
    slug: str,
    credential_id: str,
    kind: Literal["png", "svg"],
    caller: CallerDep,
    session: SessionDep,
) -> Response:
    image = issuance.baked_image(
        session, caller, institutions.get(session, slug), credential_id, kind
    )
    return Response(image, media_type="image/png" if kind == "png" else "image/svg+xml")
