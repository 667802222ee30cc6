"""Typed errors of the issuer role.

::

    TaitoError
    └── IssuerError
        ├── NotFound            not_found          404  (also for another institution's data)
        ├── Unauthorized        unauthorized       401  no or unknown credentials
        ├── Forbidden           forbidden          403  the key lacks the scope
        ├── Conflict            conflict           409  slug taken, idempotency key reused
        ├── SigningUnavailable  signing_unavailable 503 no master key / no key of that type
        └── UnknownFormat       unknown_format     422
"""

from __future__ import annotations

from schemas.errors import TaitoError


class IssuerError(TaitoError):
    code = "issuer_error"


class NotFound(IssuerError):
    code = "not_found"
    status = 404
    title = "Not found"


class Unauthorized(IssuerError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(IssuerError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class Conflict(IssuerError):
    code = "conflict"
    status = 409
    title = "Conflict"


class SigningUnavailable(IssuerError):
    code = "signing_unavailable"
    status = 503
    title = "Signing is not available"


class UnknownFormat(IssuerError):
    code = "unknown_format"
    status = 422
    title = "Unknown credential format"
