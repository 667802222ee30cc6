"""Bulk issuance API: ``POST /issuers/{slug}/batches`` (a CSV or JSON Lines file) and its status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, Field

from issuer import batches, institutions
from issuer.batch_tables import Batch
from issuer.context import BodyDep, CallerDep, ContextDep, SessionDep
from issuer.models import Format

router = APIRouter(tags=["issuer"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in (
        (401, "No or unknown API key"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Too many rows, or a body over the size limit"),
        (415, "Not CSV or JSON Lines"),
        (422, "The file cannot be read"),
    )
}
UPLOAD = {
    "requestBody": {
        "required": True,
        "description": (
            "One recipient per record. Columns / members: row_key (required, unique), email, did, "
            "student_number, given_name, family_name, valid_until (ISO 8601), "
            "results ('Name=Value;...')."
        ),
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}
RowState = Literal["pending", "running", "done", "failed", "invalid"]


class RowError(BaseModel):
    field: str
    message: str


class BatchRowPublic(BaseModel):
    row: int = Field(description="the line the record starts on (a spreadsheet's row number)")
    row_key: str | None
    state: RowState
    credential_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    errors: list[RowError] = Field(
        default_factory=list, description="why an invalid row was skipped"
    )


class BatchCounts(BaseModel):
    total: int
    pending: int
    running: int
    issued: int
    failed: int
    invalid: int


class BatchPublic(BaseModel):
    id: str
    name: str | None
    achievement_id: str
    formats: list[str]
    state: Literal["pending", "running", "done"]
    counts: BatchCounts
    created_at: datetime
    rows: list[BatchRowPublic] = Field(description="one page of rows, in file order")
    next_after: int | None = Field(description="pass as ?after= for the next page; null at the end")


def _public(
    session: Any, batch: Batch, *, after: int, limit: int, state: str | None
) -> BatchPublic:
    counts = batches.counts(session, batch)
    page = batches.rows(session, batch, after=after, limit=limit, state=state)
    return BatchPublic(
        id=batch.id,
        name=batch.name,
        achievement_id=batch.achievement_id,
        formats=batch.formats,
        state=counts.state,
        counts=BatchCounts(**counts.__dict__),
        created_at=batch.created_at,
        rows=[BatchRowPublic.model_validate(r, from_attributes=True) for r in page],
        next_after=page[-1].row if page and len(page) == limit else None,
    )


@router.post(
    "/issuers/{slug}/batches",
    status_code=status.HTTP_202_ACCEPTED,
    responses=PROBLEMS,
    openapi_extra=UPLOAD,
    summary="Issue one achievement to many recipients, as a job",
    description=(
        "Every record is validated now; invalid ones are listed (state 'invalid') and skipped. "
        "Workers then issue the valid rows; follow the Location header. A row's credential is "
        "keyed on achievement + row_key, so re-submitting a file never issues a row twice. "
        "The server's body limit (TAITO_MAX_BODY_BYTES, 1 MiB by default) bounds the file."
    ),
)
def create_batch(
    slug: str,
    caller: CallerDep,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    data: BodyDep,
    achievement_id: Annotated[str, Query(min_length=1, max_length=36)],
    formats: Annotated[list[Format], Query()] = ["ob3-di"],  # noqa: B006
    name: Annotated[str | None, Query(max_length=200)] = None,
    content_type: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    invalid_rows: Annotated[int, Query(ge=0, le=1000, description="invalid rows to list")] = 100,
) -> BatchPublic:
    batch, created = batches.create(
        session,
        context,
        caller,
        institutions.get(session, slug),
        data=data,
        content_type=content_type,
        achievement_id=achievement_id,
        formats=formats,
        name=name,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/issuers/{slug}/batches/{batch.id}"
    return _public(session, batch, after=0, limit=invalid_rows, state="invalid")


@router.get("/issuers/{slug}/batches/{batch_id}", responses=PROBLEMS, summary="A batch's progress")
def get_batch(
    slug: str,
    batch_id: str,
    caller: CallerDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="rows after this row number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    state: Annotated[RowState | None, Query(description="only rows in this state")] = None,
) -> BatchPublic:
    batch = batches.get(session, caller, institutions.get(session, slug), batch_id)
    return _public(session, batch, after=after, limit=limit, state=state)
