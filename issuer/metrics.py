"""The issuer's figures for the operator's ``GET /metrics`` (prometheus_client's default registry,
which ``taito.metrics`` exposes): what this process signed and whose status it changed.

Counted where the transaction commits, so a refused or rolled-back request counts nothing. Rows
issued by a ``taito worker`` process count in that process, which serves them with
``--metrics-port``; the queue's own figure, ``taito_batch_rows{state="done"}``, read from the
database, covers every worker.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

CREDENTIALS_ISSUED = Counter(
    "taito_credentials_issued",
    "Credentials issued (new, not idempotent repeats), one per signed format",
    ["format"],
)
STATUS_CHANGES = Counter(
    "taito_credential_status_changes",
    "Credentials revoked, suspended or unsuspended (a change to the status they had)",
    ["action"],
)


def issued(formats: Iterable[str]) -> None:
    for fmt in formats:
        CREDENTIALS_ISSUED.labels(fmt).inc()


def status_changed(action: str, count: int) -> None:
    if count:
        STATUS_CHANGES.labels(action).inc(count)
