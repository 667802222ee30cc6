"""``/s/{token}``: the public page of a share link, for the employer the learner sent it to.

Server-rendered (Jinja2, autoescaped, no JavaScript), in the verifier page's style and with the
same security headers: a Content-Security-Policy that allows no script and styles only by hash,
``Referrer-Policy: no-referrer`` (the token is in the URL), ``X-Robots-Tag: noindex``. Each
credential is verified live by the verifier (signature, issuer key, validity, status fetched
now); the link's own expiry and view count are shown apart from each credential's validity.

``Accept: application/json`` gives the machine-readable variant: ``{"link", "credentials":
[{"credential", "verification", ...}], "skills"?}`` (the shape ``/verify?link=`` reads).

An unknown, revoked, expired or used-up link answers one fixed 404 (HTML or problem+json, the
same bytes every time), so a link never reveals that it existed. A password comes by POST (a form
field or ``{"password": ...}``), never in the URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from schemas import strict_json
from schemas.errors import TaitoError
from verifier import page as verifier_page
from verifier.credential import verify_credential
from verifier.page import FORMAT_LABELS, describe, plain_text
from wallet.context import SessionDep, WalletContext, WalletDep
from wallet.profile import skills_profile
from wallet.shares import (
    Opened,
    Outcome,
    SharedCredential,
    aware,
    open_share,
    owner_of,
    shared_credentials,
)

router = APIRouter(tags=["share page"], include_in_schema=False)

MAX_PASSWORD_BYTES = 4096
PROBLEM_JSON = "application/problem+json"
_env = Environment(
    loader=ChoiceLoader(
        [PackageLoader("wallet", "templates"), PackageLoader("verifier", "templates")]
    ),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _source(name: str) -> str:
    return _env.loader.get_source(_env, name)[0]  # type: ignore[union-attr]


_STYLE = _source("verify.css") + _source("share.css")
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
SECURITY_HEADERS = {
    **verifier_page.SECURITY_HEADERS,  # nosniff, no referrer (the token is in the URL), no frames
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Robots-Tag": "noindex, nofollow",
    "Vary": "Accept",
}
# One answer for a link that does not work, whatever the reason (and whether it ever existed).
NOT_FOUND_DETAIL = "This link does not work: it may be mistyped, expired, used up or withdrawn."
NOT_FOUND_JSON = json.dumps(
    {
        "type": "https://taito.dev/problems/share_not_found",
        "title": "Not found",
        "status": 404,
        "detail": NOT_FOUND_DETAIL,
        "code": "share_not_found",
    },
    separators=(",", ":"),
).encode()
_PROBLEMS = {
    Outcome.PASSWORD_REQUIRED: (
        401,
        "password_required",
        "A password is needed",
        "This link is protected by a password: send it as 'password' in a POST.",
    ),
    Outcome.WRONG_PASSWORD: (
        401,
        "wrong_password",
        "Wrong password",
        "The password is not the one for this link.",
    ),
    Outcome.RATE_LIMITED: (
        429,
        "rate_limited",
        "Too many attempts",
        "Too many wrong passwords for this link: wait and try again.",
    ),
}
# SD-JWT VC claims that are about the token, not the learner: not listed as "claims shown".
_TECHNICAL_CLAIMS = {"iss", "iat", "nbf", "exp", "vct", "cnf", "status", "_sd_alg", "sub"}


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def _html(body: str, status: int, extra: Mapping[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(extra or {})})


def _render(status: int, extra: Mapping[str, str] | None = None, **values: Any) -> HTMLResponse:
    html = _env.get_template("share.html").render(
        style=Markup(_STYLE),  # noqa: S704 - our own stylesheets, hashed into the CSP
        **values,
    )
    return _html(html, status, extra)


def not_found(request: Request) -> Response:
    """The same bytes for every link that does not work."""
    if wants_json(request):
        return Response(
            NOT_FOUND_JSON, status_code=404, media_type=PROBLEM_JSON, headers=SECURITY_HEADERS
        )
    return _render(404, mode="not_found", detail=NOT_FOUND_DETAIL)


def _refused(request: Request, opened: Opened) -> Response:
    status, code, title, detail = _PROBLEMS[opened.outcome]
    extra = {"Retry-After": str(opened.retry_after)} if opened.retry_after else {}
    if wants_json(request):
        body = {
            "type": f"https://taito.dev/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        }
        if opened.retry_after:
            body["retry_after"] = opened.retry_after
        return JSONResponse(
            body, status_code=status, media_type=PROBLEM_JSON, headers={**SECURITY_HEADERS, **extra}
        )
    error = None if opened.outcome is Outcome.PASSWORD_REQUIRED else detail
    return _render(status, extra, mode="password", error=error)


def _when(moment: datetime | None) -> str | None:
    value = aware(moment)
    return value.strftime("%d %B %Y, %H:%M UTC") if value else None


def _claims_shown(document: Any, prefix: str = "") -> list[tuple[str, str]]:
    """The disclosed claims of an SD-JWT VC as (path, value) lines, technical claims left out."""
    lines: list[tuple[str, str]] = []
    if isinstance(document, Mapping):
        for key, value in document.items():
            if not prefix and key in _TECHNICAL_CLAIMS:
                continue
            lines += _claims_shown(value, f"{prefix}{key}." if isinstance(key, str) else prefix)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            lines += _claims_shown(value, f"{prefix}{index + 1}.")
    else:
        label = " › ".join(prefix.rstrip(".").split(".")).replace("_", " ")  # noqa: RUF001
        lines.append((label, plain_text(document) or ""))
    return lines


def _verify(context: WalletContext, shared: list[SharedCredential]) -> list[dict[str, Any]]:
    """Verify each credential now (blocking I/O: status lists, did:web)."""
    options = context.verifier.options()
    results = []
    for item in shared:
        report = verify_credential(item.credential, options)
        results.append({"item": item, "report": report})
    return results


def _machine(link: dict[str, Any], verified: list[dict[str, Any]], skills: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "link": link,
        "credentials": [
            {
                "credential": v["item"].credential,
                "format": v["item"].row.format,
                "name": v["item"].row.name,
                "issuer": {"id": v["item"].row.issuer_id, "name": v["item"].row.issuer_name},
                "valid_from": _iso(v["item"].row.valid_from),
                "valid_until": _iso(v["item"].row.valid_until),
                "disclosed": v["item"].reveal,
                "verification": v["report"].to_json(),
            }
            for v in verified
        ],
    }
    if skills is not None:
        body["skills"] = skills.model_dump(mode="json")
    return JSONResponse(body, headers=SECURITY_HEADERS)


def _iso(moment: datetime | None) -> str | None:
    value = aware(moment)
    return value.isoformat().replace("+00:00", "Z") if value else None


async def _show(request: Request, context: WalletContext, session: Any, opened: Opened) -> Response:
    share = opened.share
    assert share is not None
    if opened.outcome is Outcome.PREVIEW:
        return _render(200, mode="preview")
    shared = shared_credentials(session, context, share)
    skills = None
    if share.kind == "skills":
        skills = skills_profile(session, owner_of(session, share), only=[s.row.id for s in shared])
    verified = await run_in_threadpool(_verify, context, shared)
    views_left = share.max_views - share.views if share.max_views is not None else None
    link = {"kind": share.kind, "expires_at": _iso(share.expires_at), "views_left": views_left}
    if wants_json(request):
        return _machine(link, verified, skills)
    credentials = []
    for index, v in enumerate(verified, start=1):
        row, report = v["item"].row, v["report"]
        credentials.append(
            {
                "index": index,
                "name": row.name or "Credential",
                "issuer_name": row.issuer_name,
                "issuer_id": row.issuer_id,
                "format": FORMAT_LABELS.get(row.format, row.format),
                "valid_from": _when(row.valid_from),
                "valid_until": _when(row.valid_until),
                "claims": _claims_shown(report.document)
                if row.format == "dc+sd-jwt" and report.document is not None
                else None,
                "result": describe(report),
            }
        )
    return _render(
        200,
        mode="open",
        link={
            "expires": _when(share.expires_at),
            "views_left": views_left,
            "checked": _when(context.clock()),
        },
        credentials=credentials,
        skills=skills,
    )


async def _read_password(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        try:
            parsed = strict_json.loads(body, max_bytes=MAX_PASSWORD_BYTES)
        except TaitoError:
            return None
        value = parsed.get("password") if isinstance(parsed, dict) else None
        return value if isinstance(value, str) else None
    async with request.form(max_files=0, max_fields=2, max_part_size=MAX_PASSWORD_BYTES) as form:
        value = form.get("password")
        return value if isinstance(value, str) else None


async def _open(
    request: Request, token: str, context: WalletContext, session: Any, password: str | None
) -> Response:
    opened = await run_in_threadpool(
        open_share,
        session,
        context,
        token,
        password=password,
        user_agent=request.headers.get("user-agent"),
    )
    if opened.outcome is Outcome.NOT_FOUND:
        return not_found(request)
    if opened.outcome in _PROBLEMS:
        return _refused(request, opened)
    return await _show(request, context, session, opened)


@router.get("/s/{token}", summary="A share link: the credentials, verified now")
async def share_page(
    token: str, request: Request, context: WalletDep, session: SessionDep
) -> Response:
    return await _open(request, token, context, session, None)


@router.post("/s/{token}", summary="A password-protected share link: send the password")
async def share_page_password(
    token: str, request: Request, context: WalletDep, session: SessionDep
) -> Response:
    return await _open(request, token, context, session, await _read_password(request))
