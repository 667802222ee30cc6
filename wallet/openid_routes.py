"""The wallet's OpenID endpoints: accept a credential offer (OpenID4VCI), resume the credentials
an issuer deferred (§9), and answer a presentation request (OpenID4VP), for the signed-in
learner."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from verifier.dcql import satisfied
from wallet import oid4vci_client, oid4vp_responder
from wallet.context import CurrentLearner, SessionDep, WalletDep
from wallet.models import CredentialSummary

router = APIRouter(prefix="/wallet", tags=["wallet", "openid"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, expired or invalid access token (problem+json)"},
    400: {"description": "A remote address the SSRF guard refuses (fetch_blocked)"},
    422: {"description": "Not a usable offer / request, or a PIN is needed"},
    502: {"description": "The issuer or verifier refused; its OAuth error is in 'error'"},
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OfferIn(_In):
    offer_uri: str = Field(
        min_length=1,
        max_length=16_000,
        description="openid-credential-offer://... as scanned from the QR code",
    )
    tx_code: str | None = Field(default=None, max_length=32, description="the PIN, when asked")


class OfferOut(BaseModel):
    credentials: list[CredentialSummary]
    pending: list[dict[str, Any]] = Field(
        description="deferred by the issuer, not stored yet: resume with "
        "POST /wallet/offers/pending/{id}"
    )
    failed: list[dict[str, Any]]


class PendingOut(BaseModel):
    """A deferred credential (OpenID4VCI §9) the learner can resume; no secret in it."""

    id: str
    credential_issuer: str
    configuration_id: str
    format: str
    interval: int = Field(description="seconds the issuer asked to wait between requests")
    expires_at: datetime | None = Field(description="when the issuer's access token expires")
    created_at: datetime
    checked_at: datetime

    @classmethod
    def of(cls, row: Any) -> PendingOut:
        return cls(
            id=row.id,
            credential_issuer=row.credential_issuer,
            configuration_id=row.configuration_id,
            format=row.format,
            interval=row.interval,
            expires_at=row.expires_at,
            created_at=row.created_at,
            checked_at=row.checked_at,
        )


class ResumedOut(BaseModel):
    status: Literal["issued", "pending", "failed"] = Field(
        description="issued: stored; pending: ask again after 'interval'; failed: forgotten"
    )
    pending: PendingOut
    credentials: list[CredentialSummary]
    failed: list[dict[str, Any]]


class RequestIn(_In):
    request_uri: str = Field(
        min_length=1, max_length=16_000, description="openid4vp://... as scanned from the QR code"
    )


class CandidateOut(BaseModel):
    credential_id: str
    name: str | None
    issuer_name: str | None
    format: str
    claims: list[list[str | int | None]] | None = Field(
        description="the claims that would be disclosed (null: the whole credential)"
    )


class QueryOut(BaseModel):
    id: str
    format: str
    candidates: list[CandidateOut]


class RequestOut(BaseModel):
    verifier: str = Field(description="who asks: the response_uri's host, or the verifier's DID")
    client_id: str
    queries: list[QueryOut]
    satisfiable: bool = Field(description="every required query has a candidate")


class RespondIn(RequestIn):
    choices: dict[str, list[str]] = Field(
        description="DCQL credential query id -> the chosen wallet credential ids"
    )


class RespondOut(BaseModel):
    redirect_uri: str | None = Field(description="where to send the user next (same device)")
    presented: dict[str, list[str]]


@router.post(
    "/offers",
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Accept a credential offer (OpenID4VCI 1.0): the credentials are verified and stored",
)
async def accept_offer(
    body: OfferIn, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> OfferOut:
    def run() -> OfferOut:
        accepted = oid4vci_client.accept_offer(
            session, context, learner, body.offer_uri, body.tx_code
        )
        return OfferOut(
            credentials=[CredentialSummary.of(r) for r in accepted.credentials],
            pending=accepted.pending,
            failed=accepted.failed,
        )

    return await run_in_threadpool(run)  # blocking HTTP and verification


@router.get(
    "/offers/pending",
    responses=PROBLEMS,
    summary="The credentials issuers deferred (OpenID4VCI 1.0 §9), to resume",
)
def list_pending(learner: CurrentLearner, session: SessionDep) -> list[PendingOut]:
    return [PendingOut.of(r) for r in oid4vci_client.pending_of(session, learner)]


@router.post(
    "/offers/pending/{pending_id}",
    responses={**PROBLEMS, 404: {"description": "No such pending credential of yours"}},
    summary="Ask the issuer again for a deferred credential: stored when issued",
)
async def resume_pending(
    pending_id: str, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> ResumedOut:
    def run() -> ResumedOut:
        done = oid4vci_client.resume_pending(session, context, learner, pending_id)
        return ResumedOut(
            status=done.status,
            pending=PendingOut.of(done.pending),
            credentials=[CredentialSummary.of(r) for r in done.accepted.credentials],
            failed=done.accepted.failed,
        )

    return await run_in_threadpool(run)  # blocking HTTP and verification


@router.post(
    "/requests",
    responses=PROBLEMS,
    summary="Read a presentation request (OpenID4VP 1.0): which credentials answer it",
)
async def read_request(
    body: RequestIn, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> RequestOut:
    def run() -> RequestOut:
        request = oid4vp_responder.resolve_request(context, body.request_uri)
        found = oid4vp_responder.candidates(session, context, learner, request)
        queries = [
            QueryOut(
                id=q.id,
                format=q.format,
                candidates=[CandidateOut(**c.__dict__) for c in found[q.id]],
            )
            for q in request.query.credentials
        ]
        answered = [q for q, items in found.items() if items]
        return RequestOut(
            verifier=request.verifier,
            client_id=request.client_id,
            queries=queries,
            satisfiable=satisfied(request.query, answered),
        )

    return await run_in_threadpool(run)


@router.post(
    "/requests/response",
    responses=PROBLEMS,
    summary="Answer a presentation request with the chosen credentials (exactly the asked claims)",
)
async def respond(
    body: RespondIn, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> RespondOut:
    def run() -> RespondOut:
        done = oid4vp_responder.respond(session, context, learner, body.request_uri, body.choices)
        return RespondOut(redirect_uri=done.redirect_uri, presented=done.presented)

    return await run_in_threadpool(run)
