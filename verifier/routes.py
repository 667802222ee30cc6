"""The verifier API: ``POST /verifier/verify`` takes any credential or presentation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from schemas import strict_json
from schemas.errors import TaitoError, ValidationFailed
from verifier.context import VerifierDep

router = APIRouter(tags=["verifier"])
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Verified on the event loop when no fetch is needed: bodies up to this size (a credential is a
# few kB); larger ones, multipart uploads and anything that must fetch go to a worker thread.
INLINE_MAX_BYTES = 64 * 1024


class Check(BaseModel):
    id: str = Field(examples=["proof"])
    status: str = Field(examples=["passed"])
    code: str = Field(examples=["ok"])
    message: str


class Report(BaseModel):
    verified: bool
    format: str | None
    issuer: dict[str, Any] | None
    subject: dict[str, Any] | None
    checks: list[Check]
    nested: list[dict[str, Any]] = []
    notes: list[str] = []


OPTION_NAMES = ("challenge", "domain", "nonce", "audience")
VERIFY_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": (
                    "A credential or presentation (JSON-LD), or {credential, challenge, domain, nonce, audience} "
                    "where credential is a JSON object or a JWT / SD-JWT string"
                ),
            }
        },
        "application/vc+jwt": {"schema": {"type": "string"}},
        "application/dc+sd-jwt": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "credential": {"type": "string"},
                    **{name: {"type": "string"} for name in OPTION_NAMES},
                },
            }
        },
    },
}


async def read_input(request: Request) -> tuple[Any, dict[str, Any]]:
    """``(credential, options)`` from a JSON, text, image or multipart body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    options: dict[str, Any] = {
        name: request.query_params.get(name)
        for name in OPTION_NAMES
        if request.query_params.get(name)
    }
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            data: Any = form.get("credential")
            if upload is not None and not isinstance(upload, str):
                data = await upload.read(MAX_UPLOAD_BYTES + 1)
            for name in OPTION_NAMES:
                value = form.get(name)
                if isinstance(value, str) and value:
                    options[name] = value
        if not data:
            raise ValidationFailed(
                "Send a credential: a file or a 'credential' field.",
                extra={"errors": [{"path": "body.file", "message": "missing"}]},
            )
        return data, options
    body = await request.body()
    if content_type in (
        "application/json",
        "application/ld+json",
        "application/vc+ld+json",
        "application/vc",
    ):
        try:
            parsed = strict_json.loads(body)
        except TaitoError:
            return body, options  # the verifier reports malformed JSON as a failed format check
        if isinstance(parsed, dict) and "credential" in parsed and "@context" not in parsed:
            options.update(
                {k: v for k, v in parsed.items() if k in OPTION_NAMES and isinstance(v, str)}
            )
            return parsed["credential"], options
        return parsed, options
    return body, options


@router.post(
    "/verifier/verify",
    openapi_extra={"requestBody": VERIFY_BODY},
    summary="Verify a credential or presentation of any supported format",
)
async def verify(request: Request, verifier: VerifierDep) -> Report:
    data, options = await read_input(request)
    report = None
    declared = request.headers.get("content-length", "")
    inline = declared.isdigit() and int(declared) <= INLINE_MAX_BYTES
    if inline and not request.headers.get("content-type", "").lower().startswith("multipart/"):
        # A thread hand-off costs more than verifying a small credential that needs no fetch.
        report = verifier.verify_submitted_offline(data, options)
        if report is None and isinstance(data, dict | list):
            # Parsed afresh (the request keeps the body): the attempt may have changed the JSON.
            data, options = await read_input(request)
    if report is None:
        # Verification does blocking I/O (did:web, status lists): keep it off the event loop.
        report = await run_in_threadpool(verifier.verify_submitted, data, options)
    return Report.model_validate(report.to_json())
