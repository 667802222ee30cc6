"""OAuth-style protocol errors (RFC 6749 §5.2, RFC 6750 §3.1) for the OpenID endpoints.

Token, nonce, credential, deferred, notification and presentation-response endpoints answer errors
as ``{"error": ..., "error_description": ...}`` with the status their specification names, not as
problem+json: wallets parse the ``error`` member. The one handler that renders them is installed by
the app next to the problem+json handler (:mod:`taito.problems`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.errors import TaitoError


class OAuthError(TaitoError):
    """``error`` is the protocol's code (``invalid_grant``, ``invalid_proof``, ...)."""

    code = "oauth_error"

    def __init__(
        self,
        error: str,
        description: str,
        *,
        http_status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.http_status = http_status
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.detail}
