"""Disclosures and their digests (RFC 9901 §4.2), and the JSON Pointers (RFC 6901) naming claims.

The pointer code is the ten lines of RFC 6901 §3-§4 (escape ``~0``/``~1``) written here: the
``jsonpointer`` package resolves against documents, which we do not need, and raises its own
untyped errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import pybase64

from keys import base64url
from keys.sd_jwt.errors import (
    InvalidPointer,
    MalformedDisclosure,
    UnsupportedDigestAlgorithm,
)
from schemas import strict_json
from schemas.errors import TaitoError

SD = "_sd"
SD_ALG = "_sd_alg"
ELLIPSIS = "..."
DEFAULT_SD_ALG = "sha-256"
MAX_DISCLOSURE_BYTES = 512 * 1024

# RFC 9901 §4.1.1: names from the IANA "Named Information Hash Algorithm" registry.
HASH_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}


def hash_function(sd_alg: Any) -> Callable[[bytes], Any]:
    if not isinstance(sd_alg, str) or sd_alg not in HASH_ALGORITHMS:
        raise UnsupportedDigestAlgorithm(f"The _sd_alg {sd_alg!r} is not supported.")
    return HASH_ALGORITHMS[sd_alg]


def digest(encoded: str, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """RFC 9901 §4.2.3: base64url(hash(ASCII(the Disclosure as sent)))."""
    return base64url.encode(hash_function(sd_alg)(encoded.encode("ascii")).digest())


class Disclosure(NamedTuple):
    """One Disclosure: ``encoded`` is exactly what travels; ``name`` is None for array elements.

    A named tuple (immutable) rather than a frozen dataclass: a verifier builds one per Disclosure,
    and a frozen dataclass sets each field through ``object.__setattr__`` (twice the time).
    """

    encoded: str
    salt: str
    name: str | None
    value: Any

    def digest(self, sd_alg: str = DEFAULT_SD_ALG) -> str:
        return digest(self.encoded, sd_alg)


def create(salt: bytes, name: str | None, value: Any) -> Disclosure:
    """RFC 9901 §4.2.1 (object property ``[salt, name, value]``) / §4.2.2 (array element)."""
    salt_text = base64url.encode(salt)
    array = [salt_text, value] if name is None else [salt_text, name, value]
    # The same serialization as the RFC examples (", " separators, UTF-8 kept).
    text = json.dumps(array, ensure_ascii=False, allow_nan=False)
    return Disclosure(base64url.encode(text.encode("utf-8")), salt_text, name, value)


def digests(encoded: Sequence[str], sd_alg: str = DEFAULT_SD_ALG) -> list[str]:
    """``[digest(e, sd_alg) for e in encoded]``, with one base64url encoding for all of them.

    Each digest is padded with zero bytes to a multiple of 3 bytes, so it fills whole 4-character
    groups of the joint encoding; its own unpadded encoding is the first characters of its groups
    (a zero byte after the last digest byte adds only zero bits to that group's last character).
    """
    if not encoded:
        return []
    hash_ = hash_function(sd_alg)
    hashed = [hash_(e.encode("ascii")).digest() for e in encoded]
    size = len(hashed[0])
    fill = bytes(-size % 3)
    text = pybase64.urlsafe_b64encode(fill.join(hashed) + fill).decode("ascii")
    width, keep = (size + len(fill)) // 3 * 4, (size * 4 + 2) // 3
    return [text[start : start + keep] for start in range(0, width * len(hashed), width)]


def decode(encoded: str, raw: bytes | None = None) -> Disclosure:
    """Parse a Disclosure strictly (RFC 9901 §7.1 checks that need no context). ``raw``: its
    bytes, when the caller decoded them already (:func:`keys.base64url.decode_canonical_all`)."""
    if not encoded:
        raise MalformedDisclosure("A Disclosure is empty.")
    if len(encoded) > MAX_DISCLOSURE_BYTES:
        raise MalformedDisclosure("A Disclosure is too large.")
    if raw is None:
        raw = base64url.decode_canonical(encoded)
        if raw is None:
            raise MalformedDisclosure("The Disclosure is not canonical base64url.")
    try:
        array = strict_json.loads(raw, max_bytes=MAX_DISCLOSURE_BYTES)
    except TaitoError as exc:
        raise MalformedDisclosure(f"A Disclosure is not valid JSON: {exc.detail}") from exc
    return _from_array(encoded, array)


def decode_many(encoded: Sequence[str], raws: Sequence[bytes]) -> list[Disclosure] | None:
    """``[decode(e, r) for e, r in zip(encoded, raws)]`` when every one is well-formed, or
    ``None`` when any is not (then :func:`decode` one by one says which, and why). The JSON of
    all of them is parsed in one call (:func:`schemas.strict_json.loads_all`)."""
    if not all(encoded) or max(map(len, encoded), default=0) > MAX_DISCLOSURE_BYTES:
        return None
    arrays = strict_json.loads_all(raws, max_bytes=MAX_DISCLOSURE_BYTES)
    if arrays is None:
        return None
    try:
        return [_from_array(e, a) for e, a in zip(encoded, arrays, strict=True)]
    except MalformedDisclosure:
        return None


# Disclosure(...) runs the named tuple's __new__, a Python function; tuple.__new__ builds the same
# instance in C (a third of the time; one is built per Disclosure on the verification path)
_tuple_new = tuple.__new__


def _from_array(encoded: str, array: Any) -> Disclosure:
    if not isinstance(array, list) or len(array) not in (2, 3):
        raise MalformedDisclosure("A Disclosure must be a JSON array of 2 or 3 elements.")
    salt = array[0]
    if not isinstance(salt, str):
        raise MalformedDisclosure("A Disclosure salt must be a string.")
    if len(array) == 2:
        return _tuple_new(Disclosure, (encoded, salt, None, array[1]))
    name = array[1]
    if not isinstance(name, str):
        raise MalformedDisclosure("A Disclosure claim name must be a string.")
    # RFC 9901 §7.1: the names _sd and ... are never disclosed.
    if name in (SD, ELLIPSIS):
        raise MalformedDisclosure(f"A Disclosure must not disclose the claim name {name!r}.")
    return _tuple_new(Disclosure, (encoded, salt, name, array[2]))


Token = str | int
Path = tuple[Token, ...]


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """RFC 6901 §3/§4: ``""`` is the whole document; ``/a~1b/0`` is ("a/b", "0")."""
    if not isinstance(pointer, str):
        raise InvalidPointer("A JSON Pointer must be a string.")
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise InvalidPointer(f"JSON Pointer {pointer!r} does not start with '/'.")
    tokens = []
    for token in pointer[1:].split("/"):
        stripped = token.replace("~0", "").replace("~1", "")
        if "~" in stripped:
            raise InvalidPointer(f"JSON Pointer {pointer!r} has a bad '~' escape.")
        tokens.append(token.replace("~1", "/").replace("~0", "~"))
    return tuple(tokens)


def format_pointer(path: Path) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in path)


def array_index(token: str, length: int, pointer: str) -> int:
    """RFC 6901 §4: an array index is ``0`` or digits without a leading zero; ``-`` names nothing."""
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise InvalidPointer(f"JSON Pointer {pointer!r}: {token!r} is not an array index.")
    index = int(token)
    if index >= length:
        raise InvalidPointer(f"JSON Pointer {pointer!r}: index {index} is out of range.")
    return index
