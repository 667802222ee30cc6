"""The one place errors become ``application/problem+json`` (RFC 9457 §3).

Every response body has ``type``, ``title``, ``status``, ``detail`` and Taito's stable ``code``;
``instance`` carries the request id so an operator can find the log line. Unexpected exceptions
become a 500 problem with no stack trace and no exception text (it might hold secrets).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.errors import TaitoError
from taito import logs

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


DATABASE_RETRY_AFTER = 5  # seconds; RFC 9110 §10.2.3

_DATABASE_STATES = (
    # (words in the driver's message, code, detail); the first match wins.
    (("readonly", "read-only", "read only"), "database_read_only", "The database is read-only."),
    (
        ("disk is full", "database or disk is full", "no space left"),
        "database_full",
        "The database has no space left.",
    ),
)


def database_unavailable(request_id: str | None, exc: BaseException | None = None) -> JSONResponse:
    """503 problem with ``Retry-After`` (RFC 9110 §15.6.4): the database does not answer or write."""
    message = str(getattr(exc, "orig", None) or "").lower()
    code, detail = "database_unavailable", "The database is not available; retry later."
    for words, state_code, state_detail in _DATABASE_STATES:
        if any(word in message for word in words):
            code, detail = state_code, state_detail
            break
    response = problem(503, code, "Service unavailable", detail, request_id=request_id)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Lost connection, server restarting, pool exhausted, locked, read-only or full database
    (503), or a value the database refuses (422).

    Only the driver's error class is logged: SQLAlchemy's message carries the statement and its
    parameters, which may hold personal data.
    """
    if isinstance(exc, sa_exc.DataError):
        # The driver refused a value (a NUL character in text on PostgreSQL, a number out of
        # range): the client's input, and the transaction was never committed.
        return problem(
            422,
            "unstorable_value",
            "Input is not valid",
            "The request holds a value that cannot be stored (e.g. a NUL character).",
            request_id=_request_id(request),
        )
    transient = isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
    ) or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
    if not transient:
        raise exc  # a programming error: RequestGuard answers an opaque 500
    cause = type(getattr(exc, "orig", None) or exc).__name__
    log.error("request %s: database unavailable (%s)", _request_id(request), cause)
    return database_unavailable(_request_id(request), exc)


def _document_problems(document: dict[str, Any]) -> None:
    """Validation errors are problem+json (``_validation_error``), not FastAPI's default shape."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details with Taito's stable code",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "instance": {"type": "string"},
        },
    }
    default = {"$ref": "#/components/schemas/HTTPValidationError"}
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            response = operation.get("responses", {}).get("422")
            content = (response or {}).get("content", {})
            if content.get("application/json", {}).get("schema") == default:
                response["content"] = {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }


def install(app: FastAPI) -> None:
    app.add_exception_handler(TaitoError, _taito_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _database_error)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_problems(generate())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


class RequestGuard:
    """Outermost ASGI middleware: request id, body size limit (413), last-resort 500 problem.

    The request id is Taito's own, or with ``trust_request_id`` (``TAITO_TRUST_REQUEST_ID``, for
    a proxy that sets ``X-Request-ID`` and drops the client's) the proxy's, when it is 1-64
    characters of ``A-Z a-z 0-9 . _ -``: nothing else reaches the logs and the audit trail.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, trust_request_id: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.trust_request_id = trust_request_id

    def _new_request_id(self, scope: Scope) -> str:
        if self.trust_request_id:
            given: list[bytes] = [
                v for k, v in scope.get("headers", []) if k.lower() == b"x-request-id"
            ]
            if len(given) == 1 and _REQUEST_ID.fullmatch(given[0]):
                return given[0].decode("ascii")
        return uuid.uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._new_request_id(scope)
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

        current = logs.REQUEST_ID.set(request_id)  # on every log record written meanwhile
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
        finally:
            logs.REQUEST_ID.reset(current)

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
