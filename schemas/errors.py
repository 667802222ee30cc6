"""The root of every typed error in Taito.

Each package derives its own small tree from :class:`TaitoError`::

    TaitoError                      code, status, title
    ├── keys.errors.KeyError_       invalid_key, invalid_multibase, unsupported_key_type, ...
    ├── keys.errors.ProofError      invalid_signature, unknown_context, ...
    ├── schemas ... ValidationFailed
    └── <role>.errors.*             not_found, forbidden, conflict, ...

``code`` is a stable machine identifier; ``status`` is the HTTP status the one problem+json
handler (RFC 9457) answers with; the message is written for a person and never carries secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TaitoError(Exception):
    """A caller-visible, typed failure."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request could not be processed"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class ValidationFailed(TaitoError):
    """Input that does not match its model or schema; ``extra['errors']`` lists field paths."""

    code = "validation_failed"
    status = 422
    title = "Input is not valid"
