"""base64url without padding (RFC 4648 §5, as JOSE uses it: RFC 7515 §2)."""

from __future__ import annotations

import base64
import binascii
import re

from schemas.errors import TaitoError

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class InvalidBase64Url(TaitoError):
    code = "invalid_base64url"
    title = "Invalid base64url value"


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode unpadded base64url strictly.

    Other characters, padding, a dangling character or non-zero trailing bits fail: only the
    canonical encoding is accepted (RFC 4648 §3.5), so no two strings decode to the same bytes
    and a one-character change to a signed value can never still verify.
    """
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidBase64Url("Value is not unpadded base64url.")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex filters first
        raise InvalidBase64Url("Value is not unpadded base64url.") from exc
    if encode(data) != text:
        raise InvalidBase64Url("Value is not canonical base64url (non-zero trailing bits).")
    return data
