"""Logging for the operator: one format for every logger, a request id on every record written
while a request is served, and Taito's own access log.

* ``TAITO_LOG_FORMAT=text`` (default): ``time level logger [request id] message``;
  ``json``: one JSON object a line (``time``, ``level``, ``logger``, ``message``, ``request_id``,
  ``exception``, and an access line's fields), for a log collector.
* The request id is the ``X-Request-ID`` of the answer and the ``instance`` of a problem, so an
  answer a user reports leads to its log lines.
* The access log (logger ``taito.access``, ``TAITO_ACCESS_LOG``) names the *route template*
  (``GET /s/{token} 200``), never the path or the query: share-link tokens, e-mail verification
  tokens, offer references and response codes travel in URLs, and a log is no place for them
  (OWASP ASVS 4.0.3 V7.1.1). Nor does it write the client's address. ``taito serve`` turns
  uvicorn's own access log, which writes both, off.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
ACCESS = logging.getLogger("taito.access")
REQUEST_ID: ContextVar[str | None] = ContextVar("taito_request_id", default=None)
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# the fields an access line adds to its JSON object (LogRecord attributes, set through extra=)
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")
_access_on = False  # set by configure()


class RequestIdFilter(logging.Filter):
    """Gives each record the id of the request being served (``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            entry["request_id"] = request_id
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TaitoHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler :func:`configure` installs (replaced, not added to, on a second call). It
    writes to whatever ``sys.stderr`` is when a record comes, as ``logging.lastResort`` does."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str, log_format: LogFormat, access_log: bool = True) -> None:
    """Root logging: one handler to stderr in ``log_format``, with request ids; uvicorn's loggers
    write through it too. Handlers someone else installed (a test's capture) are left alone. The
    access log writes at INFO whatever ``level`` is, unless ``access_log`` is off."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TaitoHandler)]:
        root.removeHandler(handler)
    handler = _TaitoHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT))
    root.addHandler(handler)
    root.setLevel(level)
    ACCESS.setLevel(logging.INFO)
    global _access_on  # a flag, not Logger.disabled, which a later dictConfig (uvicorn's) resets
    _access_on = access_log
    # httpx (and httpx2, which Starlette's test client uses) writes each URL it fetches at INFO,
    # and the verifier fetches share links by URL
    for name in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()  # uvicorn's own config, if it ran: ours instead
        logging.getLogger(name).propagate = True


def access(method: str, route: str, status: int, seconds: float, request_id: str | None) -> None:
    """One access line: the route template, never the path (see the module's docstring). Only
    once :func:`configure` turned the access log on: an app made by ``create_app`` alone (tests,
    ``taito demo``) writes none."""
    if _access_on and ACCESS.isEnabledFor(logging.INFO):
        duration = round(seconds * 1000, 2)
        ACCESS.info(
            "%s %s %d %.2f ms",
            method,
            route,
            status,
            duration,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": duration,
                "request_id": request_id or "-",
            },
        )
