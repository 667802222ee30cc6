"""SD-JWT's view of :mod:`keys.jose`: the issuer JWT and KB-JWT as compact JWS with typed errors.

``keys.jose`` does the JWS work (strict header parsing, canonical base64url, the algorithm
allow-list bound to the key type); this module only maps its errors onto the SD-JWT error tree
and parses the payload as a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from keys import base64url, jose
from keys.errors import InvalidSignature
from keys.jwk import PublicKey
from keys.sd_jwt.errors import InvalidArgument, SdJwtError, UnsupportedAlgorithm
from keys.signing import Signer
from schemas import strict_json
from schemas.errors import TaitoError

# RFC 9901 §4.1: alg MUST NOT be "none"; MACs (HS*) are never accepted either.
ALLOWED_ALGORITHMS = frozenset(jose.ALGORITHM_KEY_TYPE)
MAX_JWT_BYTES = 1024 * 1024


def b64_canonical(text: str, what: str, error: type[SdJwtError]) -> bytes:
    """Strict, canonical base64url (:func:`keys.base64url.decode_canonical`) with an SD-JWT error."""
    data = base64url.decode_canonical(text)
    if data is None:
        raise error(f"The {what} is not canonical base64url.")
    return data


def json_object(raw: bytes, what: str, error: type[SdJwtError]) -> dict[str, Any]:
    try:
        value = strict_json.loads(raw, max_bytes=MAX_JWT_BYTES)
    except TaitoError as exc:
        raise error(f"The {what} is not valid JSON: {exc.detail}") from exc
    if not isinstance(value, dict):
        raise error(f"The {what} is not a JSON object.")
    return value


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; refuses what JSON cannot carry (NaN, non-string keys, objects)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
            "utf-8"
        )
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"The value is not JSON: {exc}"[:200]) from exc


def sign(header: Mapping[str, Any], payload: Mapping[str, Any], signer: Signer) -> str:
    try:
        return jose.sign_compact(dumps(dict(payload)), header, signer)
    except jose.AlgorithmNotAllowed as exc:
        raise UnsupportedAlgorithm(f"Cannot sign: {exc.detail}") from exc
    except jose.JoseError as exc:
        raise InvalidArgument(exc.detail) from exc


class Compact(NamedTuple):
    """A parsed, not yet verified compact JWS (a named tuple: two are built per verification)."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse(token: str, what: str, error: type[SdJwtError]) -> Compact:
    try:
        decoded = jose.decode_unverified(token, max_bytes=MAX_JWT_BYTES)
    except jose.JoseError as exc:
        raise error(f"The {what} is not a valid compact JWS: {exc.detail}") from exc
    # RFC 7515 §4.1.11: an unknown critical extension makes the JWS invalid; we know none.
    if "crit" in decoded.header:
        raise error(f"The {what} header has a 'crit' parameter this verifier does not support.")
    payload = json_object(decoded.payload, f"{what} payload", error)
    return Compact(decoded.header, payload, decoded.signing_input, decoded.signature)


def check_algorithm(header: Mapping[str, Any], algorithms: Collection[str], what: str) -> str:
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise UnsupportedAlgorithm(f"The {what} header has no 'alg'.")
    # RFC 9901 §4.1 / §7.1: none is never accepted; neither is anything off the list.
    if algorithm not in ALLOWED_ALGORITHMS or algorithm not in algorithms:
        raise UnsupportedAlgorithm(f"The {what} alg {algorithm!r} is not accepted.")
    return algorithm


def verify(
    jws: Compact,
    key: PublicKey,
    *,
    algorithms: Collection[str],
    what: str,
    error: type[InvalidSignature],
) -> None:
    algorithm = check_algorithm(jws.header, algorithms, what)
    decoded = jose.DecodedJws(jws.header, b"", jws.signing_input, jws.signature)
    try:
        jose.check_decoded(decoded, algorithms=(algorithm,), resolve_key=lambda _header: key)
    except jose.AlgorithmNotAllowed as exc:  # includes the alg / key-type mismatch
        raise UnsupportedAlgorithm(
            f"The {what} alg {algorithm!r} does not match the {key.key_type} key."
        ) from exc
    except (InvalidSignature, jose.JoseError) as exc:
        raise error(f"The {what} signature does not verify.") from exc
