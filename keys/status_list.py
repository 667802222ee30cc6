"""Status lists: W3C Bitstring Status List v1.0 and IETF Token Status List. Pure: no I/O, no clock.

Two packings of the same idea, a compressed array of small integers, one per credential:

=====================  ======================================  ===================================
                       W3C Bitstring Status List v1.0          IETF draft-ietf-oauth-status-list
=====================  ======================================  ===================================
compression            GZIP (RFC 1952)                         ZLIB/DEFLATE (RFC 1950 / RFC 1951)
text form              multibase base64url, ``u`` prefix       base64url, no padding (``lst``)
entry width            ``statusSize`` 1..8 bits                ``bits`` 1, 2, 4 or 8
order within a byte    index 0 is the left-most (most          index 0 is the least significant
                       significant) bit of byte 0 (§3.1)       bits of byte 0 (§4.1)
minimum length         16 KB uncompressed (§2.2, herd privacy) none
=====================  ======================================  ===================================

StatusList2021 (W3C CCG, the predecessor) uses the W3C packing without the multibase prefix:
``decode_bitstring(..., multibase=False)``.

Decompression of untrusted input is bounded: :func:`zlib.decompressobj` with ``max_length``, so a
small GZIP that inflates past ``max_bytes`` is refused as soon as the limit is crossed — never
``gzip.decompress`` on the whole thing.

The Status List Token (draft §5.1) is a compact JWS signed through :mod:`keys.jose`.

::

    KeysError (keys.errors)
    └── StatusListError             status_list_error
        ├── MalformedStatusList     malformed_status_list   not multibase/base64url, not GZIP/ZLIB,
        │                                                   truncated, trailing data, bad bits
        ├── StatusListTooShort      status_list_too_short   under the 16 KB minimum (W3C §2.2)
        ├── StatusListTooLarge      status_list_too_large   inflates past ``max_bytes``
        ├── StatusIndexOutOfRange   status_index_out_of_range
        ├── InvalidStatusSize       invalid_status_size     statusSize not 1..8 / bits not 1,2,4,8
        └── InvalidStatusListToken  invalid_status_list_token  typ, sub, iat, exp, status_list
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from keys import base64url, jose
from keys.errors import KeysError
from keys.signing import Signer
from schemas import strict_json
from schemas.errors import TaitoError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MIN_BITSTRING_BYTES",
    "STATUS_LIST_TYP",
    "Bitstring",
    "InvalidStatusListToken",
    "InvalidStatusSize",
    "MalformedStatusList",
    "StatusIndexOutOfRange",
    "StatusListError",
    "StatusListToken",
    "StatusListTooLarge",
    "StatusListTooShort",
    "TokenStatusList",
    "decode_bitstring",
    "decode_token_list",
    "encode_bitstring",
    "encode_bitstring_values",
    "encode_token_list",
    "sign_status_list_token",
    "status_at",
    "token_status_at",
    "verify_status_list_token",
]

# W3C Bitstring Status List v1.0 §2.2 (encodedList): "the uncompressed bitstring MUST be at least
# 16KB in size" — 131,072 one-bit entries, so one credential hides in a crowd (herd privacy).
MIN_BITSTRING_BYTES = 16 * 1024
# Refuse to inflate more than this by default (16 MiB = 2^27 entries at statusSize 1).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_ENCODED_CHARS = 4 * 1024 * 1024
STATUS_LIST_TYP = "statuslist+jwt"  # draft-ietf-oauth-status-list §5.1
TOKEN_BITS = (1, 2, 4, 8)  # draft-ietf-oauth-status-list §4.1
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # GZIP wrapper only (RFC 1952)
_ZLIB_WBITS = zlib.MAX_WBITS  # ZLIB wrapper only (RFC 1950)
_CHUNK = 64 * 1024


class StatusListError(KeysError):
    code = "status_list_error"
    title = "Status list cannot be processed"


class MalformedStatusList(StatusListError):
    code = "malformed_status_list"
    title = "Malformed status list"


class StatusListTooShort(StatusListError):
    code = "status_list_too_short"
    title = "Status list shorter than the required minimum"


class StatusListTooLarge(StatusListError):
    code = "status_list_too_large"
    title = "Status list too large"


class StatusIndexOutOfRange(StatusListError):
    code = "status_index_out_of_range"
    title = "Status index outside the list"


class InvalidStatusSize(StatusListError):
    code = "invalid_status_size"
    title = "Invalid status size"


class InvalidStatusListToken(StatusListError):
    code = "invalid_status_list_token"
    title = "Invalid Status List Token"


# ------------------------------------------------------------------------------------- bounded I/O


def _inflate(data: bytes, wbits: int, max_bytes: int, what: str) -> bytes:
    """Decompress ``data`` (GZIP or ZLIB by ``wbits``), refusing output past ``max_bytes``."""
    inflater = zlib.decompressobj(wbits=wbits)
    out = bytearray()
    pending = data
    try:
        while True:
            # max_length bounds each step; one byte over the limit proves the limit is crossed.
            chunk = inflater.decompress(pending, min(_CHUNK, max_bytes + 1 - len(out)))
            out += chunk
            if len(out) > max_bytes:
                raise StatusListTooLarge(
                    f"The {what} inflates to more than {max_bytes} bytes.",
                    extra={"max_bytes": max_bytes},
                )
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and not chunk):
                break
    except zlib.error as exc:
        raise MalformedStatusList(f"The {what} is not valid compressed data.") from exc
    if not inflater.eof:
        raise MalformedStatusList(f"The {what} is truncated: the compressed stream does not end.")
    if inflater.unused_data:
        raise MalformedStatusList(f"The {what} has data after the end of its compressed stream.")
    return bytes(out)


def _deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


def _index(index: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise StatusIndexOutOfRange("A status index is a non-negative integer.")
    return index


# ------------------------------------------------------------------------- W3C Bitstring Status List


@dataclass(frozen=True, eq=True)
class Bitstring:
    """An uncompressed status bitstring with fixed-width entries (W3C Bitstring Status List §3.1).

    Entry ``i`` occupies bits ``i*status_size .. i*status_size+status_size-1`` counted from the
    left-most (most significant) bit of byte 0; its value is read most significant bit first.
    Frozen: :meth:`set` returns a new value (lists are built once, then read many times).
    """

    data: bytes
    status_size: int = 1

    def __post_init__(self) -> None:
        _check_status_size(self.status_size)
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))

    @classmethod
    def zeros(cls, entries: int, status_size: int = 1) -> Bitstring:
        _check_status_size(status_size)
        if isinstance(entries, bool) or not isinstance(entries, int) or entries < 0:
            raise MalformedStatusList("The number of entries is a non-negative integer.")
        return cls(bytes(-(-entries * status_size // 8)), status_size)

    @property
    def entries(self) -> int:
        return len(self.data) * 8 // self.status_size

    def get(self, index: int) -> int:
        return status_at(self, index, self.status_size)

    def set(self, index: int, value: int) -> Bitstring:
        """A copy with entry ``index`` set to ``value`` (0 .. 2**status_size - 1)."""
        size = self.status_size
        _range_check(self, _index(index), size)
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int) or not 0 <= value < (1 << size):
            raise MalformedStatusList(f"A {size}-bit status value is 0..{(1 << size) - 1}.")
        data = bytearray(self.data)
        for k in range(size):
            bit = index * size + k
            mask = 0x80 >> (bit % 8)
            if (value >> (size - 1 - k)) & 1:
                data[bit // 8] |= mask
            else:
                data[bit // 8] &= ~mask & 0xFF
        return Bitstring(bytes(data), size)

    def set_indices(self) -> list[int]:
        """Indices whose value is not zero, in order."""
        if self.status_size == 1:
            return [
                byte_index * 8 + k
                for byte_index, byte in enumerate(self.data)
                if byte
                for k in range(8)
                if byte & (0x80 >> k)
            ]
        return [i for i in range(self.entries) if self.get(i)]


def _check_status_size(status_size: Any) -> None:
    # W3C §2.1 statusSize: a positive integer, default 1; Taito reads at most one byte per entry.
    if (
        isinstance(status_size, bool)
        or not isinstance(status_size, int)
        or not 1 <= status_size <= 8
    ):
        raise InvalidStatusSize("statusSize must be an integer from 1 to 8.")


def _range_check(bitstring: Bitstring, index: int, status_size: int) -> None:
    # W3C §3.3 Validate Algorithm: an index past the end of the list is a RANGE_ERROR.
    if (index + 1) * status_size > len(bitstring.data) * 8:
        raise StatusIndexOutOfRange(
            f"Index {index} is outside a list of {len(bitstring.data) * 8 // status_size} entries.",
            extra={"index": index},
        )


def status_at(bitstring: Bitstring, index: int, status_size: int = 1) -> int:
    """The value of entry ``index`` (W3C §3.1: index 0 is the left-most bit of the first byte)."""
    _check_status_size(status_size)
    index = _index(index)
    _range_check(bitstring, index, status_size)
    data = bitstring.data
    first = index * status_size
    if status_size == 1:
        return (data[first // 8] >> (7 - first % 8)) & 1
    value = 0
    for bit in range(first, first + status_size):
        value = (value << 1) | ((data[bit // 8] >> (7 - bit % 8)) & 1)
    return value


def encode_bitstring(bits: Bitstring | bytes, *, multibase: bool = True) -> str:
    """``encodedList`` (W3C §3.2 Bitstring Generation): GZIP, then multibase base64url ``u…``."""
    data = bits.data if isinstance(bits, Bitstring) else bits
    if not isinstance(data, bytes | bytearray):
        raise MalformedStatusList("A bitstring is bytes.")
    # mtime=0 in the GZIP header (RFC 1952 §2.3.1): the same list always encodes the same way.
    compressed = _deflate(bytes(data), _GZIP_WBITS)
    text = base64url.encode(compressed)
    return "u" + text if multibase else text


def encode_bitstring_values(
    values: Mapping[int, int] | Iterable[int],
    *,
    size: int,
    status_size: int = 1,
) -> str:
    """``encodedList`` of a list of ``size`` entries: ``values`` maps index -> value (or is a set
    of indices set to 1); every other entry is 0."""
    items = values.items() if isinstance(values, Mapping) else ((i, 1) for i in values)
    bitstring = Bitstring.zeros(size, status_size)
    data = bytearray(bitstring.data)
    top = (1 << status_size) - 1
    for index, value in items:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise MalformedStatusList(f"A {status_size}-bit status value is 0..{top}.")
        _range_check(bitstring, _index(index), status_size)
        for k in range(status_size):
            if (value >> (status_size - 1 - k)) & 1:
                bit = index * status_size + k
                data[bit // 8] |= 0x80 >> (bit % 8)
    return encode_bitstring(bytes(data))


def decode_bitstring(
    encoded: str,
    *,
    status_size: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_bytes: int = MIN_BITSTRING_BYTES,
    multibase: bool = True,
) -> Bitstring:
    """Expand an ``encodedList`` (W3C §3.4 Bitstring Expansion Algorithm), with limits.

    ``multibase=True`` (Bitstring Status List): the value starts with ``u`` (base64url, no
    padding). ``multibase=False`` (StatusList2021): bare base64url; trailing ``=`` tolerated.
    The expanded list must be at least ``min_bytes`` long (§2.2: 16 KB) and at most ``max_bytes``.
    """
    _check_status_size(status_size)
    if not isinstance(encoded, str) or not encoded:
        raise MalformedStatusList("encodedList is a non-empty string.")
    if len(encoded) > MAX_ENCODED_CHARS:
        raise StatusListTooLarge(f"encodedList is longer than {MAX_ENCODED_CHARS} characters.")
    if multibase:
        # Multibase: 'u' is base64url without padding; no other base is allowed here (§2.2).
        if encoded[0] != "u":
            raise MalformedStatusList("encodedList must be multibase base64url (start with 'u').")
        text = encoded[1:]
    else:
        text = encoded.rstrip("=")
    try:
        compressed = base64url.decode(text)
    except TaitoError as exc:
        raise MalformedStatusList("encodedList is not base64url.") from exc
    if compressed[:2] != b"\x1f\x8b":
        raise MalformedStatusList("encodedList is not GZIP-compressed (RFC 1952).")
    data = _inflate(compressed, _GZIP_WBITS, max_bytes, "status list")
    if len(data) < min_bytes:
        # §3.3 Validate Algorithm: a list under the minimum length is a STATUS_LIST_LENGTH_ERROR.
        raise StatusListTooShort(
            f"The status list has {len(data)} bytes; at least {min_bytes} are required.",
            extra={"bytes": len(data), "min_bytes": min_bytes},
        )
    return Bitstring(data, status_size)


# --------------------------------------------------------------------------- IETF Token Status List


@dataclass(frozen=True)
class TokenStatusList:
    """A decoded Token Status List (draft-ietf-oauth-status-list §4): ``bits`` and the byte array."""

    bits: int
    data: bytes
    aggregation_uri: str | None = None

    @property
    def entries(self) -> int:
        return len(self.data) * 8 // self.bits

    def get(self, index: int) -> int:
        return token_status_at(self, index)


def _check_bits(bits: Any) -> int:
    if isinstance(bits, bool) or bits not in TOKEN_BITS:
        raise InvalidStatusSize("'bits' must be 1, 2, 4 or 8 (draft-ietf-oauth-status-list §4.1).")
    return int(bits)


def _token_bytes(statuses: Mapping[int, int] | Iterable[int], bits: int, size: int | None) -> bytes:
    top = (1 << bits) - 1
    if isinstance(statuses, Mapping):
        pairs = list(statuses.items())
        count = size if size is not None else (max((i for i, _ in pairs), default=-1) + 1)
    else:
        values = list(statuses)
        pairs = list(enumerate(values))
        count = size if size is not None else len(values)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise MalformedStatusList("The list size is a non-negative integer.")
    data = bytearray(-(-count * bits // 8))
    per_byte = 8 // bits
    for index, value in pairs:
        index = _index(index)
        if index >= count:
            raise StatusIndexOutOfRange(f"Index {index} is outside a list of {count} entries.")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise MalformedStatusList(f"A {bits}-bit status value is 0..{top}.")
        # §4.1: entry i sits at bit offset (i % per_byte) * bits of byte i // per_byte, LSB first.
        data[index // per_byte] |= value << ((index % per_byte) * bits)
    return bytes(data)


def encode_token_list(
    statuses: Mapping[int, int] | Iterable[int], bits: int, *, size: int | None = None
) -> dict[str, Any]:
    """The ``status_list`` JSON object (draft §4.2): ``{"bits", "lst"}``.

    ``statuses`` is a sequence of values (index = position) or a mapping index -> value with the
    list ``size``. ``lst`` is base64url (no padding) of the ZLIB/DEFLATE-compressed byte array.
    """
    bits = _check_bits(bits)
    data = _token_bytes(statuses, bits, size)
    return {"bits": bits, "lst": base64url.encode(_deflate(data, _ZLIB_WBITS))}


def decode_token_list(
    status_list: Mapping[str, Any], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> TokenStatusList:
    """Decode a ``status_list`` object (draft §4.2) with a bounded inflate."""
    if not isinstance(status_list, Mapping):
        raise MalformedStatusList("'status_list' is a JSON object (draft §4.2).")
    bits = _check_bits(status_list.get("bits"))
    lst = status_list.get("lst")
    if not isinstance(lst, str) or not lst:
        raise MalformedStatusList("'lst' is a non-empty base64url string (draft §4.2).")
    if len(lst) > MAX_ENCODED_CHARS:
        raise StatusListTooLarge(f"'lst' is longer than {MAX_ENCODED_CHARS} characters.")
    try:
        compressed = base64url.decode(lst)
    except TaitoError as exc:
        raise MalformedStatusList("'lst' is not unpadded base64url (draft §4.2).") from exc
    data = _inflate(compressed, _ZLIB_WBITS, max_bytes, "status list")
    aggregation = status_list.get("aggregation_uri")
    if aggregation is not None and not isinstance(aggregation, str):
        raise MalformedStatusList("'aggregation_uri' is a string (draft §4.2).")
    return TokenStatusList(bits, data, aggregation)


def token_status_at(status_list: TokenStatusList, index: int) -> int:
    """The status of entry ``index`` (draft §4.1: least significant bits of byte 0 first)."""
    bits = _check_bits(status_list.bits)
    index = _index(index)
    per_byte = 8 // bits
    if index // per_byte >= len(status_list.data):
        raise StatusIndexOutOfRange(
            f"Index {index} is outside a list of {status_list.entries} entries.",
            extra={"index": index},
        )
    byte = status_list.data[index // per_byte]
    return (byte >> ((index % per_byte) * bits)) & ((1 << bits) - 1)


# ------------------------------------------------------------------------------ Status List Token


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token (draft §5.1)."""

    status_list: TokenStatusList
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def ttl(self) -> int | None:
        ttl = self.claims.get("ttl")
        return ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None


def _timestamp(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidStatusListToken("Times must be timezone-aware datetimes.")
    return int(moment.astimezone(UTC).timestamp())


def sign_status_list_token(
    statuses: Mapping[int, int] | Iterable[int],
    *,
    bits: int,
    uri: str,
    signer: Signer,
    now: datetime,
    size: int | None = None,
    ttl: int | None = None,
    expires: datetime | None = None,
    issuer: str | None = None,
) -> str:
    """A Status List Token JWT (draft §5.1): header ``typ: statuslist+jwt``, claims ``sub`` (the
    token's URI), ``iat``, ``exp``, ``ttl``, ``status_list`` (and ``iss`` when given)."""
    if not isinstance(uri, str) or not uri:
        raise InvalidStatusListToken("The Status List Token needs its URI ('sub').")
    claims: dict[str, Any] = {}
    if issuer is not None:
        claims["iss"] = issuer
    claims["sub"] = uri
    claims["iat"] = _timestamp(now)
    if expires is not None:
        claims["exp"] = _timestamp(expires)
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
            raise InvalidStatusListToken("'ttl' is a positive number of seconds (draft §5.1).")
        claims["ttl"] = ttl
    claims["status_list"] = encode_token_list(statuses, bits, size=size)
    payload = json.dumps(claims, separators=(",", ":")).encode()
    header = {"typ": STATUS_LIST_TYP, "kid": signer.key_id}
    return jose.sign_compact(payload, header, signer)


def _int_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidStatusListToken(f"The Status List Token has no '{name}' (draft §5.1).")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidStatusListToken(f"'{name}' is a number (draft §5.1).")
    return int(value)


def verify_status_list_token(
    token: str,
    *,
    resolve_key: jose.KeyResolver,
    now: datetime,
    expected_uri: str,
    algorithms: Iterable[str] = ("ES256", "EdDSA"),
    leeway: timedelta = timedelta(seconds=60),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> StatusListToken:
    """Verify a Status List Token and decode its list (draft §8.3 validation rules).

    Checks, in order: compact JWS structure, ``typ`` is ``statuslist+jwt`` (§5.1), algorithm and
    signature (:mod:`keys.jose`), ``sub`` equals the referenced ``uri`` (§8.3), ``iat`` present
    and not in the future, ``exp`` not passed, ``ttl`` a positive number, then the list itself.
    """
    decoded = jose.decode_unverified(token)
    if not jose.typ_matches(decoded.header.get("typ"), STATUS_LIST_TYP):
        raise InvalidStatusListToken("The token's typ is not 'statuslist+jwt' (draft §5.1).")
    result = jose.verify_decoded(decoded, algorithms=list(algorithms), resolve_key=resolve_key)
    try:
        claims = strict_json.loads(result.payload, max_depth=8)
    except strict_json.MalformedJson as exc:
        raise InvalidStatusListToken(f"The token's payload is not JSON: {exc.detail}") from exc
    if not isinstance(claims, dict):
        raise InvalidStatusListToken("The token's payload is not a JSON object.")
    if claims.get("sub") != expected_uri:
        raise InvalidStatusListToken(
            "The token's 'sub' is not the URI it was fetched for (draft §8.3)."
        )
    moment = _timestamp(now)
    slack = int(leeway.total_seconds())
    issued = _int_claim(claims, "iat", required=True)
    expires = _int_claim(claims, "exp", required=False)
    ttl = _int_claim(claims, "ttl", required=False)
    if issued is not None and issued > moment + slack:
        raise InvalidStatusListToken("The Status List Token is issued in the future.")
    if expires is not None and moment >= expires + slack:
        raise InvalidStatusListToken("The Status List Token has expired (draft §8.3).")
    if ttl is not None and ttl <= 0:
        raise InvalidStatusListToken("'ttl' is a positive number of seconds (draft §5.1).")
    if "status_list" not in claims:
        raise InvalidStatusListToken("The token has no 'status_list' claim (draft §5.1).")
    status_list = decode_token_list(claims["status_list"], max_bytes=max_bytes)
    return StatusListToken(status_list, dict(result.header), claims)
