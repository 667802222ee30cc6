"""A scanner for secrets in log text (OWASP ASVS V7.1.1, V8.3): what must never be written down.

Patterns, each named so a finding says what leaked (never the whole secret):

* PEM private keys (PKCS#1, PKCS#8, EC, OpenSSH, encrypted);
* private JWK members (``"d"``, and RSA's ``"p"``, ``"q"``, ``"dp"``, ``"dq"``, ``"qi"``);
* Taito API keys (``taito_<12 hex>_<base64url secret>``, ``issuer/institutions.py``);
* wallet refresh tokens (``rt_<base64url>``, ``wallet/tokens.py``);
* bearer credentials in an ``Authorization`` value, and ``access_token`` / ``refresh_token`` /
  ``password`` / ``client_secret`` JSON members with a value;
* the master key as an environment assignment;
* any literal the caller knows to be secret (test passwords, the operator token).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PATTERNS: dict[str, re.Pattern[str]] = {
    "PEM private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "private JWK member": re.compile(
        r"""["'](?:d|p|q|dp|dq|qi)["']\s*:\s*["'][A-Za-z0-9_-]{16,}["']"""
    ),
    "Taito API key": re.compile(r"\btaito_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"),
    "wallet refresh token": re.compile(r"\brt_[A-Za-z0-9_-]{32,}"),
    "bearer credential": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    "secret JSON member": re.compile(
        r"""["'](?:access_token|refresh_token|password|client_secret|tx_code|pre-authorized_code)["']"""
        r"""\s*:\s*["'][^"']{6,}["']"""
    ),
    "master key": re.compile(r"TAITO_MASTER_KEY\s*[=:]\s*\S{16,}"),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    where: str
    excerpt: str  # the match with its middle masked: enough to find it, not enough to use it

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.excerpt}"


def _mask(text: str) -> str:
    if len(text) <= 12:
        return text[:3] + "…"
    return f"{text[:10]}…{text[-2:]}"


def scan(text: str, where: str, literals: Iterable[str] = ()) -> list[Finding]:
    """Every secret-looking thing in ``text`` (``where`` names its source in the finding)."""
    found = [
        Finding(kind, where, _mask(match.group(0)))
        for kind, pattern in PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    found.extend(
        Finding("known secret", where, _mask(literal))
        for literal in literals
        if literal and literal in text
    )
    return found
