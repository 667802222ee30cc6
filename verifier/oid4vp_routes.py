"""OpenID4VP 1.0 endpoints: the relying party's ``/verifier/requests`` API (problem+json errors)
and the wallet-facing request object and response endpoints (OAuth JSON errors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlmodel import Session

from schemas.oauth import OAuthError
from verifier import oid4vp
from verifier.oid4vp import OpenIdVerifier, RequestCreate, RequestCreated, RequestStatus

router = APIRouter(tags=["openid4vp"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in (
        (401, "No read token"),
        (404, "Not found"),
        (422, "Invalid input"),
        (503, "No key or certificate to sign the request with"),
    )
}
NO_STORE = {"Cache-Control": "no-store"}


def get_context(request: Request) -> OpenIdVerifier:
    context: OpenIdVerifier = request.app.state.oid4vp
    return context


ContextDep = Annotated[OpenIdVerifier, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with Session(context.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def form_body(request: Request) -> dict[str, str]:
    """The direct_post body (§8.2): ``application/x-www-form-urlencoded``, no repeats."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "direct_post sends a form (OpenID4VP §8.2).")
    async with request.form(max_files=0, max_fields=20, max_part_size=1024 * 1024) as form:
        fields: dict[str, str] = {}
        for name, value in form.multi_items():
            if name in fields or not isinstance(value, str):
                raise OAuthError("invalid_request", f"The parameter {name!r} is repeated.")
            fields[name] = value
    return fields


@router.post(
    "/verifier/requests",
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Ask a wallet for credentials (OpenID4VP 1.0 with a DCQL query): URI and QR code",
)
def create_request(body: RequestCreate, context: ContextDep, session: SessionDep) -> RequestCreated:
    return oid4vp.create_request(session, context, body)


@router.get(
    "/verifier/requests/{request_id}",
    responses=PROBLEMS,
    summary="The result of a request (read token, or the response_code after a redirect)",
)
def request_status(
    request_id: str,
    request: Request,
    context: ContextDep,
    session: SessionDep,
    response_code: Annotated[str | None, Query(max_length=200)] = None,
) -> RequestStatus:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    read_token = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return oid4vp.status(session, context, request_id, read_token, response_code)


@router.get(
    "/verifier/requests/{request_id}/request",
    responses=PROBLEMS,
    summary="The signed request object behind request_uri (RFC 9101)",
)
def request_object(request_id: str, context: ContextDep, session: SessionDep) -> Response:
    return Response(
        oid4vp.request_object(session, context, request_id),
        media_type="application/oauth-authz-req+jwt",
        headers=NO_STORE,
    )


@router.post(
    "/verifier/requests/{request_id}/response",
    responses={400: {"description": "OAuth error: {error, error_description}"}},
    summary="Response endpoint (direct_post): vp_token and state from the wallet (§8.2)",
)
def response_endpoint(
    request_id: str,
    form: Annotated[dict[str, str], Depends(form_body)],
    context: ContextDep,
    session: SessionDep,
) -> JSONResponse:
    return JSONResponse(oid4vp.respond(session, context, request_id, form), headers=NO_STORE)
