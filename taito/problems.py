"""The one place errors become ``application/problem+json`` (RFC 9457 §3).

Every response body has ``type``, ``title``, ``status``, ``detail`` and Taito's stable ``code``;
``instance`` carries the request id so an operator can find the log line. Unexpected exceptions
become a 500 problem with no stack trace and no exception text (it might hold secrets).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.errors import TaitoError

log = logging.getLogger("taito")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://taito.dev/problems/"


def problem(
    status: int, code: str, title: str, detail: str, *, request_id: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request_id:
        body["instance"] = f"urn:taito:request:{request_id}"
    body.update(extra)
    headers = {"X-Request-ID": request_id} if request_id else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _taito_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TaitoError)
    if exc.status >= 500:
        log.error("request %s failed: %s (%s)", _request_id(request), exc.code, exc.detail)
    return problem(
        exc.status, exc.code, exc.title, exc.detail, request_id=_request_id(request), **exc.extra
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"path": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid")}
        for e in exc.errors()
    ]
    return problem(
        422,
        "validation_failed",
        "Input is not valid",
        "The request does not match the expected shape; see errors.",
        request_id=_request_id(request),
        errors=errors,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = problem(
        exc.status_code,
        code,
        code.replace("_", " ").capitalize(),
        str(exc.detail),
        request_id=_request_id(request),
    )
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(TaitoError, _taito_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


class RequestGuard:
    """Outermost ASGI middleware: request id, body size limit (413), last-resort 500 problem."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.max_body_bytes
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._reject(scope, receive, send_with_id, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send_with_id, request_id)
        except Exception:
            log.exception("request %s: unhandled error", request_id)
            if not started:
                response = problem(
                    500,
                    "internal_error",
                    "Internal server error",
                    "The server could not complete the request.",
                    request_id=request_id,
                )
                await response(scope, receive, send_with_id)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        response = problem(
            413,
            "payload_too_large",
            "Request body too large",
            f"The request body exceeds {self.max_body_bytes} bytes.",
            request_id=request_id,
        )
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parser passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")
