"""base64url without padding (RFC 4648 §5, as JOSE uses it: RFC 7515 §2)."""

from __future__ import annotations

import binascii
import re

from schemas.errors import TaitoError

# base64url -> standard base64 in one ``bytes.translate`` (C speed): the URL-safe letters become
# ``+`` / ``/``; every byte outside the base64url alphabet - ``+``, ``/`` and ``=`` included - becomes
# ``!``, which ``a2b_base64(strict_mode=True)`` refuses, so the translation also validates.
_URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_STD_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD = bytearray(b"!" * 256)
for _url, _std in zip(_URL_ALPHABET, _STD_ALPHABET, strict=True):
    _TO_STANDARD[_url] = _std
_TO_STANDARD_TABLE = bytes(_TO_STANDARD)
_TO_URL_TABLE = bytes.maketrans(b"+/", b"-_")
# The value (0..63) of each base64url character, for the trailing-bits check.
_VALUE = {char: index for index, char in enumerate(_URL_ALPHABET)}
# 2 (3) characters of a last group carry 1 (2) bytes: the low 4 (2) bits of the last one are padding
_PADDING_BITS = (0, 0, 0b1111, 0b11)
_PAD = (b"", b"", b"==", b"=")


class InvalidBase64Url(TaitoError):
    code = "invalid_base64url"
    title = "Invalid base64url value"


def encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL_TABLE).rstrip(b"=").decode()


def decode_canonical(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url ``text`` (what :func:`decode` accepts), or ``None``.

    Non-raising and allocation-light, for the verification hot paths: the trailing bits are checked
    on the last character instead of encoding the result again.
    """
    if not isinstance(text, str):
        return None
    rest = len(text) % 4
    if rest == 1 or not text.isascii():
        return None
    raw = text.encode("ascii")
    if rest and _VALUE.get(raw[-1], 0) & _PADDING_BITS[rest]:
        return None
    try:
        return binascii.a2b_base64(raw.translate(_TO_STANDARD_TABLE) + _PAD[rest], strict_mode=True)
    except binascii.Error:
        return None


def decode(text: str) -> bytes:
    """Decode unpadded base64url strictly.

    Other characters, padding, a dangling character or non-zero trailing bits fail: only the
    canonical encoding is accepted (RFC 4648 §3.5), so no two strings decode to the same bytes
    and a one-character change to a signed value can never still verify.
    """
    data = decode_canonical(text)
    if data is None:
        if isinstance(text, str) and _ALPHABET.fullmatch(text) and len(text) % 4 != 1:
            raise InvalidBase64Url("Value is not canonical base64url (non-zero trailing bits).")
        raise InvalidBase64Url("Value is not unpadded base64url.")
    return data
