"""The verifier's figure for the operator's ``GET /metrics``: what was verified through the API and
the employer's page, by format and outcome (prometheus_client's default registry, which
``taito.metrics`` exposes)."""

from __future__ import annotations

from prometheus_client import Counter

from verifier.credential import FORMATS
from verifier.report import VerificationReport

_KNOWN = FORMATS | {"openbadges-2.0"}

VERIFICATIONS = Counter(
    "taito_verifications",
    "Credentials and presentations submitted for verification, by format and outcome",
    ["format", "outcome"],
)


def count(report: VerificationReport) -> None:
    kind = report.format if report.format in _KNOWN else "unrecognised"
    VERIFICATIONS.labels(kind, "verified" if report.verified else "failed").inc()
