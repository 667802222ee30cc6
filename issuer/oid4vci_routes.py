"""OpenID4VCI 1.0 endpoints: well-known metadata at the app root, offers, and the protocol
endpoints under ``/issuers/{slug}/oid4vci/``. Protocol errors are OAuth JSON (``schemas.oauth``),
the offer API's errors problem+json like the rest of the issuer API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.responses import JSONResponse

from issuer import institutions, oid4vci
from issuer.context import BodyDep, CallerDep, ContextDep, SessionDep
from issuer.oid4vci import OfferCreate, OfferPublic
from issuer.oid4vci_tables import CredentialOffer
from issuer.routes import PROBLEMS
from schemas.oauth import OAuthError

router = APIRouter(tags=["openid4vci"])
NO_STORE = {"Cache-Control": "no-store"}
OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "OAuth error: {error, error_description}"},
    401: {"description": "invalid_token (RFC 6750 §3.1)"},
}


def _json(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


@router.get(
    "/.well-known/openid-credential-issuer/issuers/{slug}",
    responses=PROBLEMS,
    summary="Credential Issuer Metadata (OpenID4VCI 1.0 §12.2, path-aware)",
)
def credential_issuer_metadata(slug: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    return JSONResponse(oid4vci.issuer_metadata(context, institutions.get(session, slug)))


@router.get(
    "/.well-known/oauth-authorization-server/issuers/{slug}",
    responses=PROBLEMS,
    summary="OAuth Authorization Server Metadata (RFC 8414 §3, path-aware)",
)
def authorization_server_metadata(
    slug: str, context: ContextDep, session: SessionDep
) -> JSONResponse:
    return JSONResponse(
        oid4vci.authorization_server_metadata(context, institutions.get(session, slug))
    )


@router.post(
    "/issuers/{slug}/offers",
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Offer a credential over OpenID4VCI: offer URI, QR code and the PIN (shown once)",
)
def create_offer(
    slug: str, body: OfferCreate, caller: CallerDep, context: ContextDep, session: SessionDep
) -> OfferPublic:
    return oid4vci.create_offer(session, context, caller, institutions.get(session, slug), body)


@router.get(
    "/issuers/{slug}/oid4vci/offers/{reference}",
    responses=OAUTH_ERRORS,
    summary="A credential offer by reference (credential_offer_uri, §4.1.3); served once",
)
def offer_by_reference(
    slug: str, reference: str, context: ContextDep, session: SessionDep
) -> JSONResponse:
    institution = institutions.get(session, slug)
    return _json(oid4vci.offer_by_reference(session, context, institution, reference))


@router.post(
    "/issuers/{slug}/oid4vci/token",
    responses=OAUTH_ERRORS,
    summary="Token endpoint: pre-authorized code (+ tx_code) for an access token (§6)",
)
def token(
    slug: str,
    request: Request,
    body: BodyDep,
    context: ContextDep,
    session: SessionDep,
    dpop: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "Send the token request as a form (RFC 6749 §4.1.3).")
    institution = institutions.get(session, slug)
    form = oid4vci.form_fields(body)
    return _json(oid4vci.token(session, context, institution, form, dpop))


@router.post(
    "/issuers/{slug}/oid4vci/nonce",
    responses=PROBLEMS,
    summary="Nonce endpoint: a fresh c_nonce for proofs (§7)",
)
def nonce(slug: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    institution = institutions.get(session, slug)
    return _json({"c_nonce": oid4vci.new_nonce(session, context, institution)})


def _authenticated(endpoint_name: str) -> Callable[..., CredentialOffer]:
    """A dependency: the offer behind the request's access token (Bearer or DPoP-bound)."""

    def offer(
        slug: str, request: Request, context: ContextDep, session: SessionDep
    ) -> CredentialOffer:
        return oid4vci.authenticate(
            session,
            context,
            institutions.get(session, slug),
            request.headers.get("authorization"),
            request.headers.get("dpop"),
            endpoint_name,
        )

    return offer


@router.post(
    "/issuers/{slug}/oid4vci/credential",
    responses=OAUTH_ERRORS,
    summary="Credential endpoint: one key-bound credential per proof, or a transaction_id (§8)",
)
def credential(
    slug: str,
    body: BodyDep,
    offer: Annotated[CredentialOffer, Depends(_authenticated("credential"))],
    context: ContextDep,
    session: SessionDep,
) -> JSONResponse:
    institution = institutions.get(session, slug)
    result = oid4vci.credential(session, context, institution, offer, body)
    return _json(result.body, result.status)


@router.post(
    "/issuers/{slug}/oid4vci/deferred",
    responses=OAUTH_ERRORS,
    summary="Deferred credential endpoint (§9)",
)
def deferred(
    slug: str,
    body: BodyDep,
    offer: Annotated[CredentialOffer, Depends(_authenticated("deferred"))],
    context: ContextDep,
    session: SessionDep,
) -> JSONResponse:
    institution = institutions.get(session, slug)
    result = oid4vci.deferred_request(session, context, institution, offer, body)
    return _json(result.body, result.status)


@router.post(
    "/issuers/{slug}/oid4vci/notification",
    status_code=204,
    responses=OAUTH_ERRORS,
    summary="Notification endpoint: the wallet accepted, failed or deleted credentials (§11)",
)
def notification(
    slug: str,
    body: BodyDep,
    offer: Annotated[CredentialOffer, Depends(_authenticated("notification"))],
    context: ContextDep,
    session: SessionDep,
) -> Response:
    oid4vci.notify(session, context, institutions.get(session, slug), offer, body)
    return Response(status_code=204)
