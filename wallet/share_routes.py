"""``/wallet/presentations`` and ``/wallet/shares``: the learner presents and shares.

Every route takes the current learner from the access token and touches only that learner's
credentials and links (another learner's id answers 404, as in ``wallet/routes.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from wallet import presentation, shares
from wallet.context import CurrentLearner, SessionDep, WalletDep
from wallet.share_models import (
    AccessLog,
    PresentationIn,
    PresentationOut,
    ShareCreate,
    ShareCreated,
    SharePublic,
    ShareUpdate,
)
from wallet.share_tables import Share

router = APIRouter(prefix="/wallet", tags=["wallet sharing"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, expired or invalid access token (problem+json)"},
    404: {"description": "Not found, or another learner's (problem+json)"},
    422: {"description": "Not valid: see the problem's detail (problem+json)"},
}


@router.post(
    "/presentations",
    summary="Present chosen credentials to one verifier (VP with Data Integrity, or SD-JWT+KB)",
    responses=PROBLEMS,
)
async def create_presentation(
    body: PresentationIn, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> PresentationOut:
    def run() -> PresentationOut:
        made = presentation.create_presentation(
            session,
            context,
            learner,
            format=body.format,
            chosen=[c.chosen() for c in body.credentials],
            challenge=body.challenge,
            domain=body.domain,
            nonce=body.nonce,
            audience=body.audience,
            cryptosuite=body.cryptosuite,
        )
        session.commit()
        return PresentationOut(
            format=made.format,
            media_type=made.media_type,
            presentation=made.presentation,
            holder=made.holder,
            credential_ids=made.credential_ids,
            challenge=body.challenge,
            domain=body.domain,
            nonce=body.nonce,
            audience=body.audience,
        )

    # RDF canonicalisation of a presentation is CPU work: keep it off the event loop.
    return await run_in_threadpool(run)


def _public(session: SessionDep, context: WalletDep, share: Share) -> SharePublic:
    return SharePublic.of(share, shares.shared_items(session, share), context.clock())


@router.post(
    "/shares",
    status_code=status.HTTP_201_CREATED,
    summary="Create a share link (the token is shown once)",
    responses=PROBLEMS,
)
def create_share(
    body: ShareCreate,
    response: Response,
    learner: CurrentLearner,
    context: WalletDep,
    session: SessionDep,
) -> ShareCreated:
    share, token = shares.create_share(
        session,
        context,
        learner,
        shares.ShareSpec(
            kind=body.kind,
            credentials=[c.chosen() for c in body.credentials],
            label=body.label,
            expires_at=body.expires_at,
            password=body.password,
            max_views=body.max_views,
        ),
    )
    response.headers["Location"] = f"/wallet/shares/{share.id}"
    response.headers["Cache-Control"] = "no-store"
    return ShareCreated(
        share=_public(session, context, share), token=token, url=shares.share_url(context, token)
    )


@router.get("/shares", summary="The learner's share links, newest first", responses=PROBLEMS)
def list_shares(
    learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> list[SharePublic]:
    return [_public(session, context, s) for s in shares.list_shares(session, learner)]


@router.get("/shares/{share_id}", summary="One share link", responses=PROBLEMS)
def get_share(
    share_id: str, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> SharePublic:
    return _public(session, context, shares.get_share(session, learner, share_id))


@router.patch(
    "/shares/{share_id}",
    summary="Change a link's label, expiry, password or view limit (null removes one)",
    responses=PROBLEMS,
)
def update_share(
    share_id: str,
    body: ShareUpdate,
    learner: CurrentLearner,
    context: WalletDep,
    session: SessionDep,
) -> SharePublic:
    share = shares.update_share(session, context, learner, share_id, body.changes())
    return _public(session, context, share)


@router.post(
    "/shares/{share_id}/revoke",
    summary="Revoke a link: it stops working at once (its access log stays)",
    responses=PROBLEMS,
)
def revoke_share(
    share_id: str, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> SharePublic:
    return _public(session, context, shares.revoke_share(session, context, learner, share_id))


@router.delete(
    "/shares/{share_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a link and its access log",
    responses=PROBLEMS,
)
def delete_share(share_id: str, learner: CurrentLearner, session: SessionDep) -> Response:
    shares.delete_share(session, learner, share_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/shares/{share_id}/access",
    summary="A link's access log: time, outcome, coarse user agent (no IP addresses)",
    responses=PROBLEMS,
)
def access_log(
    share_id: str,
    learner: CurrentLearner,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AccessLog:
    return AccessLog.of(shares.access_log(session, learner, share_id, limit=limit, offset=offset))
