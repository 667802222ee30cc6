"""Prometheus metrics for the operator: ``GET /metrics`` (the text exposition format), with the
operator token.

* ``taito_http_requests_total{method, route, status}`` and
  ``taito_http_request_duration_seconds{method, route}``: every answer, by route *template*
  (``/issuers/{slug}/credentials``, never a slug or an id: bounded labels, no personal data);
  paths that match no route count as ``route="unmatched"``. Recorded by :class:`Metrics`, the
  outermost middleware, so 413s and last-resort 500s count too.
* The roles' own counts, each in its ``metrics.py``: ``taito_credentials_issued_total{format}``
  and ``taito_credential_status_changes_total{action}`` (issuer);
  ``taito_verifications_total{format, outcome}`` (verifier: the API and the employer's page);
  ``taito_wallet_sign_ins_total{outcome}``, ``taito_wallet_registrations_total{outcome}`` and
  ``taito_wallet_refresh_token_reuse_total`` (wallet).
* ``taito_batch_rows{state}``: the bulk-issuance queue, read from the database at each scrape
  (the one figure that is the same whichever process answers).

Under ``taito serve --workers N`` each worker counts for itself; the CLI points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start, and a scrape
answered by any worker adds up all of them (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from issuer.batch_tables import BatchRow
from taito import logs

MEDIA_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# In prometheus_client's default registry, with the roles' own (verifier.metrics) and, in one
# process, its process_* and python_gc_* figures; module-level, so made once however many apps.
REQUESTS = Counter(
    "taito_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "taito_http_request_duration_seconds",
    "Time from the request to the end of the answer, by method and route template",
    ["method", "route"],
    buckets=_BUCKETS,
)


class Metrics:
    """Outermost ASGI middleware: counts and times every HTTP answer by its route template, and
    writes its access line (:func:`taito.logs.access`: the template, never the path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # the router wrote the matched route into this same scope
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"
            elapsed = time.perf_counter() - started
            REQUESTS.labels(method, route, str(status)).inc()
            DURATION.labels(method, route).observe(elapsed)
            logs.access(method, route, status, elapsed, scope.get("state", {}).get("request_id"))


class _Database:
    """Figures read from the database at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> list[GaugeMetricFamily]:
        rows = GaugeMetricFamily(
            "taito_batch_rows", "Rows of bulk-issuance batches, by state", labels=["state"]
        )
        with Session(self.engine) as session:
            counts = session.exec(
                select(BatchRow.state, func.count()).group_by(BatchRow.state)
            ).all()
        for state, count in sorted(counts):
            rows.add_metric([state], count)
        return [rows]


def render(engine: Engine) -> bytes:
    """The exposition text: this process's counters (all workers' under multiprocess mode), then
    the database's figures."""
    if os.environ.get(MULTIPROCESS_ENV):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)  # type: ignore[no-untyped-call]
        counted = generate_latest(workers)
    else:
        counted = generate_latest(REGISTRY)
    database = CollectorRegistry(auto_describe=False)
    database.register(_Database(engine))
    return counted + generate_latest(database)


def prepare_multiprocess(directory: str) -> None:
    """Before worker processes start: they count into files under ``directory`` (emptied)."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    os.environ[MULTIPROCESS_ENV] = directory
