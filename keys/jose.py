"""JWS Compact Serialization (RFC 7515 §7.1) with a strict, per-call algorithm allow-list.

Used by VC-JWT (``keys.vc_jwt``) and, later, by SD-JWT, JAdES and OpenID4VCI proof JWTs, so it
knows nothing about claims: it signs bytes under a header and verifies them back.

Why hand-written and not PyJWT's ``api_jws``: the compact form is three base64url segments and one
signature call, and everything around it is policy PyJWT does not enforce the way Taito needs:

* the header is parsed with :mod:`schemas.strict_json` (duplicate member names rejected as RFC
  7515 §5.2 requires; size and depth limits) — PyJWT uses plain ``json.loads``, last name wins;
* the algorithm is bound to the key's type (EdDSA↔ed25519, ES256↔p256, RS256↔rsa) and only
  asymmetric algorithms exist here: ``none`` and HMAC cannot be allowed even by a careless caller;
* base64url segments must be canonical (no stray trailing bits), so any one-character change of a
  token changes the bytes it stands for and fails;
* every failure is a typed :class:`~schemas.errors.TaitoError` with a stable ``code``;
* signatures go through the project's own keys (:class:`keys.jwk.PublicKey`, :class:`Signer`).

``jku`` and ``x5u`` are never fetched; an embedded ``jwk`` is only ever used if the caller's
``resolve_key`` decides to trust it. ``typ`` is the caller's to check (:func:`typ_matches`).

::

    KeysError (keys.errors)
    ├── InvalidSignature       invalid_signature   (keys.errors, re-used here)
    └── JoseError              jose_error
        ├── MalformedJws       malformed_jws       not three canonical base64url segments, bad header
        ├── AlgorithmNotAllowed alg_not_allowed    alg outside the allow-list (always: none, HS*)
        │   └── AlgorithmKeyMismatch alg_key_mismatch  alg does not fit the resolved key's type
        └── CritUnsupported    crit_unsupported    a critical extension we do not understand, b64
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from keys import base64url
from keys.errors import InvalidSignature, KeysError
from keys.jwk import KeyType, PublicKey
from keys.signing import Signer
from schemas import strict_json

__all__ = [
    "ALGORITHM_KEY_TYPE",
    "MAX_HEADER_BYTES",
    "MAX_TOKEN_BYTES",
    "AlgorithmKeyMismatch",
    "AlgorithmNotAllowed",
    "CritUnsupported",
    "DecodedJws",
    "InvalidSignature",
    "JoseError",
    "JwsResult",
    "KeyResolver",
    "MalformedJws",
    "check_decoded",
    "decode_unverified",
    "sign_compact",
    "typ_matches",
    "verify_compact",
    "verify_decoded",
]

MAX_TOKEN_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_DEPTH = 8

# The only algorithms that exist here, each bound to one key type (RFC 7518 §3.1, RFC 8037 §3.1).
ALGORITHM_KEY_TYPE: Mapping[str, KeyType] = {"EdDSA": "ed25519", "ES256": "p256", "RS256": "rsa"}

# Header names defined by RFC 7515 §4.1 / RFC 7518: never allowed inside ``crit`` (§4.1.11).
_REGISTERED_HEADER_NAMES = frozenset(
    {"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit"}
)


class JoseError(KeysError):
    code = "jose_error"
    title = "JOSE object cannot be processed"


class MalformedJws(JoseError):
    code = "malformed_jws"
    title = "Malformed JWS"


class AlgorithmNotAllowed(JoseError):
    code = "alg_not_allowed"
    title = "Signature algorithm not allowed"


class AlgorithmKeyMismatch(AlgorithmNotAllowed):
    code = "alg_key_mismatch"
    title = "Signature algorithm does not fit the key"


class CritUnsupported(JoseError):
    code = "crit_unsupported"
    title = "Unsupported critical JOSE extension"


KeyResolver = Callable[[Mapping[str, Any]], PublicKey]


class DecodedJws(NamedTuple):
    """A compact JWS split and decoded, *not* verified."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


@dataclass(frozen=True)
class JwsResult:
    """A verified JWS: its protected header and payload bytes."""

    header: dict[str, Any]
    payload: bytes


def typ_matches(typ: Any, expected: str) -> bool:
    """Compare media types as RFC 7515 §4.1.9 says: case-insensitively, ``application/`` optional."""
    if not isinstance(typ, str):
        return False
    return typ == expected or _media_type(typ) == _media_type(expected)


def _media_type(value: str) -> str:
    lowered = value.lower()
    prefix = "application/"
    rest = lowered[len(prefix) :]
    return rest if lowered.startswith(prefix) and "/" not in rest else lowered


def _check_allow_list(algorithms: Collection[str]) -> frozenset[str]:
    if type(algorithms) is tuple or type(algorithms) is frozenset:
        # the usual, hashable allow-lists (module constants): checked once
        return _checked_allow_list(algorithms)
    return _allow_list(algorithms)


@functools.lru_cache(maxsize=64)
def _checked_allow_list(algorithms: Collection[str]) -> frozenset[str]:
    return _allow_list(algorithms)


def _allow_list(algorithms: Collection[str]) -> frozenset[str]:
    if isinstance(algorithms, str):
        raise AlgorithmNotAllowed("The algorithm allow-list must be a collection, not a string.")
    allowed = frozenset(algorithms)
    if not allowed:
        raise AlgorithmNotAllowed("The algorithm allow-list is empty.")
    unknown = sorted(a for a in allowed if a not in ALGORITHM_KEY_TYPE)
    if unknown:
        # "none" (RFC 7518 §3.6) and HMAC (§3.2) are refused even when a caller lists them.
        raise AlgorithmNotAllowed(
            f"Algorithm(s) {', '.join(map(repr, unknown))} cannot be allowed; "
            f"supported: {', '.join(ALGORITHM_KEY_TYPE)}."
        )
    return allowed


def _check_header(header: Mapping[str, Any], understood_crit: Collection[str] | None) -> None:
    """Header rules shared by signing and verification (``understood_crit=None``: do not check)."""
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise MalformedJws("The JOSE header has no 'alg' string (RFC 7515 §4.1.1).")
    # RFC 7797 §3: b64=false changes what is signed; not supported, whether or not marked critical.
    if "b64" in header and header["b64"] is not True:
        raise CritUnsupported("Unencoded payloads (RFC 7797 'b64': false) are not supported.")
    # RFC 7515 §4.1.3: 'jwk' is a public key, a JSON object.
    if "jwk" in header:
        jwk = header["jwk"]
        if not isinstance(jwk, Mapping) or "d" in jwk:
            raise MalformedJws("The 'jwk' header must be a public JWK object (RFC 7515 §4.1.3).")
    for name in ("kid", "typ", "cty"):
        if name in header and not isinstance(header[name], str):
            raise MalformedJws(f"The '{name}' header must be a string (RFC 7515 §4.1).")
    if "crit" not in header:
        return
    # RFC 7515 §4.1.11: a non-empty array of names, none registered, each present in the header.
    crit = header["crit"]
    if not isinstance(crit, list) or not crit or not all(isinstance(n, str) for n in crit):
        raise MalformedJws("'crit' must be a non-empty array of strings (RFC 7515 §4.1.11).")
    if len(set(crit)) != len(crit):
        raise MalformedJws("'crit' lists a name twice (RFC 7515 §4.1.11).")
    for name in crit:
        if name in _REGISTERED_HEADER_NAMES:
            raise MalformedJws(f"'crit' must not list the registered header {name!r}.")
        if name not in header:
            raise MalformedJws(f"'crit' lists {name!r}, which the header does not carry.")
        if understood_crit is not None and name not in understood_crit:
            raise CritUnsupported(f"The critical header extension {name!r} is not understood.")


def _encode_json(value: Mapping[str, Any], what: str) -> bytes:
    try:
        text = json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MalformedJws(f"The {what} is not JSON-serialisable: {exc}"[:200]) from exc
    return text.encode("utf-8")


def sign_compact(payload: bytes, header: Mapping[str, Any], signer: Signer) -> str:
    """Sign ``payload`` as a compact JWS; ``alg`` comes from the signer (RFC 7515 §5.1).

    Other header members (``typ``, ``kid``, ``jwk``, ``crit``, ...) are the caller's choice.
    """
    if not isinstance(payload, bytes):
        raise MalformedJws("The JWS payload must be bytes.")
    algorithm = signer.algorithm
    _check_allow_list([algorithm])
    if "alg" in header and header["alg"] != algorithm:
        raise AlgorithmKeyMismatch(
            f"The header says alg={header['alg']!r} but the signer uses {algorithm!r}."
        )
    full = {"alg": algorithm, **{k: v for k, v in header.items() if k != "alg"}}
    _check_header(full, None)
    header_b64 = base64url.encode(_encode_json(full, "JOSE header"))
    signing_input = f"{header_b64}.{base64url.encode(payload)}"
    signature = signer.sign(signing_input.encode("ascii"))
    token = f"{signing_input}.{base64url.encode(signature)}"
    if len(token) > MAX_TOKEN_BYTES:
        raise MalformedJws(f"The JWS would be larger than {MAX_TOKEN_BYTES} bytes.")
    return token


def _segment(text: str, what: str) -> bytes:
    # only the canonical form is accepted (RFC 4648 §3.5): a token has one spelling
    data = base64url.decode_canonical(text)
    if data is None:
        raise MalformedJws(f"The JWS {what} is not canonical, unpadded base64url.")
    return data


_NOT_BASE64URL = "not base64url"
# Headers are few (one per issuer key and token type) and repeat across tokens: the parsed header
# is a pure function of its exact base64url text, so small ones are kept (bounded).
_CACHED_HEADER_CHARS = 2048


def _parse_header(header_b64: str) -> tuple[dict[str, Any] | None, bool, str]:
    """(header, whether every member is a string, problem): the header or why it is refused."""
    header_bytes = base64url.decode_canonical(header_b64)
    if header_bytes is None:
        return None, False, _NOT_BASE64URL
    try:
        header = strict_json.loads(
            header_bytes, max_bytes=MAX_HEADER_BYTES, max_depth=MAX_HEADER_DEPTH
        )
    except strict_json.MalformedJson as exc:
        # RFC 7515 §5.2 step 3-4: the header is a JSON object, duplicate names rejected.
        return None, False, f"The JOSE header is not valid JSON: {exc.detail}"
    if not isinstance(header, dict):
        return None, False, "The JOSE header is not a JSON object (RFC 7515 §5.2)."
    return header, all(type(value) is str for value in header.values()), ""


_cached_header = functools.lru_cache(maxsize=256)(_parse_header)


def decode_unverified(token: str, *, max_bytes: int = MAX_TOKEN_BYTES) -> DecodedJws:
    """Split a compact JWS into header, payload, signing input and signature — no verification."""
    if not isinstance(token, str):
        raise MalformedJws("A compact JWS is a string.")
    if len(token) > max_bytes:
        raise MalformedJws(f"The JWS is larger than {max_bytes} bytes.")
    if not token.isascii():
        raise MalformedJws("A compact JWS is ASCII only.")
    # RFC 7515 §7.1: exactly three segments (five would be JWE, which is not accepted here).
    if token.count(".") != 2:
        raise MalformedJws("A compact JWS has exactly three '.'-separated segments.")
    header_b64, payload_b64, signature_b64 = token.split(".")
    if not header_b64 or len(header_b64) > MAX_HEADER_BYTES * 4 // 3 + 4:
        raise MalformedJws("The JWS header segment is empty or too large.")
    if not payload_b64:
        raise MalformedJws("Detached payloads (RFC 7515 Appendix F) are not supported.")
    if len(header_b64) <= _CACHED_HEADER_CHARS:
        header, flat, problem = _cached_header(header_b64)
    else:
        header, flat, problem = _parse_header(header_b64)
    if problem is _NOT_BASE64URL:
        raise MalformedJws("The JWS header is not canonical, unpadded base64url.")
    payload = _segment(payload_b64, "payload")
    signature = _segment(signature_b64, "signature")
    if header is None:
        raise MalformedJws(problem)
    # a copy: the parsed header may be the cached one, which nobody else may change
    header = dict(header) if flat else copy.deepcopy(header)
    signing_input = token[: len(header_b64) + 1 + len(payload_b64)].encode("ascii")
    return DecodedJws(header, payload, signing_input, signature)


def verify_decoded(
    decoded: DecodedJws,
    *,
    algorithms: Collection[str],
    resolve_key: KeyResolver,
    understood_crit: Collection[str] = (),
) -> JwsResult:
    """Verify a :class:`DecodedJws` (RFC 7515 §5.2): allow-list, ``crit``, key binding, signature."""
    check_decoded(
        decoded, algorithms=algorithms, resolve_key=resolve_key, understood_crit=understood_crit
    )
    return JwsResult(dict(decoded.header), decoded.payload)


def check_decoded(
    decoded: DecodedJws,
    *,
    algorithms: Collection[str],
    resolve_key: KeyResolver,
    understood_crit: Collection[str] = (),
) -> None:
    """:func:`verify_decoded` for a caller that keeps the header and payload it already has."""
    allowed = _check_allow_list(algorithms)
    header = decoded.header
    _check_header(header, understood_crit)
    alg = header["alg"]
    if alg not in allowed:
        raise AlgorithmNotAllowed(f"The JWS algorithm {alg!r} is not allowed here.")
    key = resolve_key(header)
    if not isinstance(key, PublicKey):
        raise JoseError("The key resolver did not return a public key.")
    # RFC 7515 §10.7 / RFC 8725 §3.1: the algorithm must be the one the key is meant for.
    if ALGORITHM_KEY_TYPE[alg] != key.key_type:
        raise AlgorithmKeyMismatch(f"The algorithm {alg!r} does not fit a {key.key_type} key.")
    try:
        key.verify(decoded.signature, decoded.signing_input)
    except ValueError as exc:  # defensive: a library refusing a malformed signature outright
        raise InvalidSignature("The signature is malformed for this key.") from exc


def verify_compact(
    token: str,
    *,
    algorithms: Collection[str],
    resolve_key: KeyResolver,
    understood_crit: Collection[str] = (),
    max_bytes: int = MAX_TOKEN_BYTES,
) -> JwsResult:
    """Decode and verify a compact JWS; raises a :class:`JoseError` or :class:`InvalidSignature`."""
    return verify_decoded(
        decode_unverified(token, max_bytes=max_bytes),
        algorithms=algorithms,
        resolve_key=resolve_key,
        understood_crit=understood_crit,
    )
