"""The verification report: a verdict a machine and a person can both read.

Check ids are stable (STYLE.md): ``format``, ``schema``, ``proof``, ``issuer_key``,
``issuer_trust``, ``validity_period``, ``status``, ``holder_binding``, ``presentation_proof``,
``nested``. ``verified`` is true only when no check failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CheckStatus = Literal["passed", "failed", "warning", "skipped"]
CHECK_IDS = (
    "format",
    "schema",
    "proof",
    "issuer_key",
    "issuer_trust",
    "validity_period",
    "status",
    "holder_binding",
    "presentation_proof",
    "nested",
)


@dataclass(frozen=True)
class Check:
    id: str
    status: CheckStatus
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, "code": self.code, "message": self.message}


@dataclass
class VerificationReport:
    format: str | None = None
    checks: list[Check] = field(default_factory=list)
    issuer: dict[str, Any] | None = None
    subject: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    nested: list[VerificationReport] = field(default_factory=list)
    document: Any = None  # the verified (or disclosed) credential / presentation, for callers

    @property
    def verified(self) -> bool:
        return not any(c.status == "failed" for c in self.checks) and all(
            n.verified for n in self.nested
        )

    def add(self, id: str, status: CheckStatus, code: str, message: str) -> Check:
        check = Check(id, status, code, message)
        self.checks.append(check)
        return check

    def passed(self, id: str, message: str, code: str = "ok") -> Check:
        return self.add(id, "passed", code, message)

    def failed(self, id: str, code: str, message: str) -> Check:
        return self.add(id, "failed", code, message)

    def check(self, id: str) -> Check | None:
        return next((c for c in self.checks if c.id == id), None)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "verified": self.verified,
            "format": self.format,
            "issuer": self.issuer,
            "subject": self.subject,
            "checks": [c.to_json() for c in self.checks],
        }
        if self.nested:
            body["nested"] = [n.to_json() for n in self.nested]
        if self.notes:
            body["notes"] = self.notes
        return body
