"""``GET /verify`` and ``POST /verify``: the employer-facing page, server-rendered, no JavaScript.

An employer pastes a credential (JSON, JWT or SD-JWT) or uploads a file (a baked PNG / SVG badge,
JSON, text); the page shows the verdict and every check of the
:class:`~verifier.report.VerificationReport` in plain words. Templates autoescape; every response
carries a Content-Security-Policy that allows no script, and styles only by hash.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from schemas import strict_json
from schemas.errors import TaitoError
from verifier.context import VerifierContext, VerifierDep
from verifier.credential import MAX_INPUT_BYTES
from verifier.report import VerificationReport

router = APIRouter(tags=["verifier page"], include_in_schema=False)

OPTION_NAMES = ("challenge", "domain", "nonce", "audience")
# A field or file a little over the verifier's own limit, so it reports "too large" in plain words.
MAX_FIELD_BYTES = MAX_INPUT_BYTES + 1024
MAX_LINK_CHARS = 2048
LINK_ACCEPT = (
    "application/vc+ld+json, application/vc+jwt, application/dc+sd-jwt, application/ld+json, "
    "application/json;q=0.9, text/plain;q=0.5"
)

CHECK_LABELS = {
    "format": "Format",
    "schema": "Data model",
    "proof": "Signature",
    "issuer_key": "Issuer's key",
    "issuer_trust": "Trusted issuer",
    "validity_period": "Validity period",
    "status": "Revocation status",
    "holder_binding": "Holder binding",
    "presentation_proof": "Presentation signature",
    "nested": "Included credentials",
}
STATUS_LABELS = {
    "passed": ("Passed", "\u2713"),  # check mark
    "failed": ("Failed", "\u2717"),  # ballot x
    "warning": ("Warning", "!"),
    "skipped": ("Not checked", "\u2013"),  # en dash
}
FORMAT_LABELS = {
    "ldp_vc": "Verifiable credential with a Data Integrity proof (JSON-LD)",
    "ldp_vp": "Verifiable presentation with a Data Integrity proof (JSON-LD)",
    "jwt_vc": "Verifiable credential as a JWT",
    "dc+sd-jwt": "SD-JWT verifiable credential (selective disclosure)",
    "jades": "Sealed credential (JAdES, European Digital Credentials)",
    "openbadges-2.0": "Open Badges 2.0 assertion",
    "share-link": "Credentials shared by a link",
}

_env = Environment(
    loader=PackageLoader("verifier", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_STYLE = _env.loader.get_source(_env, "verify.css")[0]  # type: ignore[union-attr]
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # a result holds someone's personal data
}


@dataclass
class Submission:
    """What the form carried: the credential (text or file bytes), the options, or an error."""

    data: str | bytes | None = None
    pasted: str = ""
    filename: str | None = None
    link: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    error: str | None = None


async def read_form(request: Request) -> Submission:
    """The credential from the file (when one was chosen) or else the text area."""
    submission = Submission()
    try:
        async with request.form(max_files=1, max_fields=10, max_part_size=MAX_FIELD_BYTES) as form:
            pasted = form.get("credential")
            upload = form.get("file")
            link = form.get("link")
            if isinstance(link, str) and link.strip():
                submission.link = link.strip()[:MAX_LINK_CHARS]
            for name in OPTION_NAMES:
                value = form.get(name)
                if isinstance(value, str) and value.strip():
                    submission.options[name] = value.strip()
            if isinstance(pasted, str):
                submission.pasted = pasted
                submission.data = pasted.strip() or None
            # An empty file input still sends a part (no name, no bytes): the text area wins then.
            if isinstance(upload, UploadFile) and upload.filename:
                content = await upload.read(MAX_FIELD_BYTES)
                if content:
                    submission.data = content
                    submission.filename = upload.filename
    except MultiPartException as exc:
        submission.error = f"The form could not be read: {exc.message}"
        return submission
    if submission.data is None and submission.link is None:
        submission.error = (
            "Nothing to verify yet: paste a credential into the text box, choose a file "
            "(a PNG or SVG badge, a JSON file or a text file holding a JWT or SD-JWT), or give "
            "a link."
        )
    return submission


def plain_text(value: Any) -> str | None:
    """A display string from a plain string, a language map or a JSON-LD value object."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "@value" in value:
            return plain_text(value["@value"])
        for key in ("en", "en-GB", "en-US", "name"):
            if key in value:
                return plain_text(value[key])
        return next((t for t in map(plain_text, value.values()) if t), None)
    if isinstance(value, list):
        return next((t for t in map(plain_text, value) if t), None)
    return str(value)


IDENTITY_TYPES = {
    "emailAddress": "email address",
    "sisSourcedId": "student number",
    "studentId": "student number",
    "nationalIdentityNumber": "national identity number",
    "name": "name",
}


def subject_identities(document: Any) -> list[str]:
    """How an Open Badges 3.0 subject is identified when it has no ``id`` (OB 3.0 IdentityObject)."""
    if not isinstance(document, Mapping):
        return []
    subject = document.get("credentialSubject")
    if isinstance(subject, list) and subject:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        return []
    found = []
    if plain_text(subject.get("name")):
        found.append(f"Name: {plain_text(subject.get('name'))}")
    identifiers = subject.get("identifier")
    for entry in identifiers if isinstance(identifiers, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("identityType", "identifier"))
        label = IDENTITY_TYPES.get(kind, kind)
        if entry.get("hashed") is True:
            found.append(f"A hashed {label} (ask the holder for it and compare)")
        else:
            found.append(f"{label.capitalize()}: {plain_text(entry.get('identityHash'))}")
    return found


def describe(report: VerificationReport) -> dict[str, Any]:
    """The view of a report: everything the template shows, in plain words."""
    issuer = report.issuer or {}
    subject = report.subject or {}
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    checks = []
    for check in report.checks:
        status_label, icon = STATUS_LABELS.get(check.status, (check.status.capitalize(), "?"))
        checks.append(
            {
                "id": check.id,
                "label": CHECK_LABELS.get(check.id, check.id.replace("_", " ").capitalize()),
                "status": check.status,
                "status_label": status_label,
                "icon": icon,
                "code": check.code,
                "message": check.message,
            }
        )
    return {
        "verified": report.verified,
        "format": FORMAT_LABELS.get(report.format or "", report.format),
        "achievement": plain_text(achievement.get("name"))
        if isinstance(achievement, Mapping)
        else None,
        "issuer_name": plain_text(issuer.get("name")),
        "issuer_id": plain_text(issuer.get("id")),
        "subject_id": plain_text(subject.get("id")) if isinstance(subject, Mapping) else None,
        "subject_identities": subject_identities(report.document),
        "checks": checks,
        "notes": [plain_text(n) for n in report.notes],
        "nested": [describe(n) for n in report.nested],
    }


def render(
    submission: Submission | None, result: dict[str, Any] | None, status: int
) -> HTMLResponse:
    html = _env.get_template("verify.html").render(
        style=Markup(_STYLE),  # noqa: S704 - our own stylesheet, hashed into the CSP
        submission=submission or Submission(),
        result=result,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


MAX_SHARED_CREDENTIALS = 20


def _shared_credentials(parsed: Any) -> list[Any] | None:
    """The credentials of a share link's JSON (``{"credentials": [...]}``, each a credential or
    ``{"credential": ...}``); ``None`` when the document is not such a list."""
    if not isinstance(parsed, Mapping) or "@context" in parsed:
        return None
    items = parsed.get("credentials")
    if not isinstance(items, list) or not items:
        return None
    return [
        item["credential"] if isinstance(item, Mapping) and "credential" in item else item
        for item in items[:MAX_SHARED_CREDENTIALS]
    ]


def verify_link(
    verifier: VerifierContext, link: str, options: Mapping[str, str]
) -> VerificationReport:
    """Fetch what a link points at (through the guarded client) and verify it; a share link's
    JSON with several credentials becomes one report with a nested report each."""
    response = verifier.http.get(link, accept=LINK_ACCEPT)
    try:
        parsed = strict_json.loads(response.content)
    except TaitoError:
        parsed = None
    items = _shared_credentials(parsed)
    if items is None:
        return verifier.verify_submitted(response.content, options)
    reports = [verifier.verify_submitted(item, options) for item in items]
    if len(reports) == 1:
        return reports[0]
    combined = VerificationReport(format="share-link", nested=reports)
    failed = sum(not r.verified for r in reports)
    if failed:
        combined.failed(
            "nested",
            "nested_failed",
            f"{failed} of {len(reports)} shared credentials did not verify.",
        )
    else:
        combined.passed("nested", f"All {len(reports)} shared credentials verify.")
    return combined


async def _verify(verifier: VerifierContext, submission: Submission) -> HTMLResponse:
    # Verification does blocking I/O (did:web, status lists): keep it off the event loop.
    if submission.data is None and submission.link is not None:
        try:
            report = await run_in_threadpool(
                verify_link, verifier, submission.link, submission.options
            )
        except TaitoError as exc:
            submission.error = f"The link could not be opened: {exc.detail}"
            return render(submission, None, 422)
    else:
        report = await run_in_threadpool(
            verifier.verify_submitted, submission.data, submission.options
        )
    return render(submission, describe(report), 200)


@router.get("/verify", response_class=HTMLResponse, summary="The verification page")
async def verify_page(verifier: VerifierDep, link: str | None = None) -> HTMLResponse:
    """The empty form, or (``?link=``) the verdict on what a share link points at."""
    if link and link.strip():
        return await _verify(verifier, Submission(link=link.strip()[:MAX_LINK_CHARS]))
    return render(None, None, 200)


@router.post("/verify", response_class=HTMLResponse, summary="Verify from the page's form")
async def verify_form(request: Request, verifier: VerifierDep) -> HTMLResponse:
    submission = await read_form(request)
    if submission.error is not None:
        return render(submission, None, 422)
    return await _verify(verifier, submission)
