"""The small, strict compact JWS (RFC 7515 §7.1) that SD-JWT needs: one signature, no options.

Written here rather than taken from pyjwt on purpose: SD-JWT signs and verifies with the key values
of :mod:`keys.jwk` (raw ``r || s`` ES256, EdDSA), needs the exact bytes of the issuer JWT for
``sd_hash``, and must refuse more than pyjwt does by default (duplicate header members, ``crit``,
non-canonical base64url that would let a signature be re-encoded). It is ~100 lines and may move
onto ``keys.jose`` later.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from keys import base64url
from keys.errors import InvalidSignature
from keys.jwk import PublicKey
from keys.sd_jwt.errors import InvalidArgument, SdJwtError, UnsupportedAlgorithm
from keys.signing import Signer
from schemas import strict_json
from schemas.errors import TaitoError

# RFC 9901 §4.1: alg MUST NOT be "none"; we also never accept MACs (HS*): the verifier would need
# the issuer's secret. Asymmetric algorithms of the keys Taito has.
ALLOWED_ALGORITHMS = frozenset({"EdDSA", "ES256", "RS256"})
MAX_JWT_BYTES = 1024 * 1024


def b64_canonical(text: str, what: str, error: type[SdJwtError]) -> bytes:
    """Strict base64url; a value whose unused trailing bits are set is refused (not canonical)."""
    try:
        raw = base64url.decode(text)
    except TaitoError as exc:
        raise error(f"The {what} is not base64url.") from exc
    if base64url.encode(raw) != text:
        raise error(f"The {what} is not canonical base64url.")
    return raw


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
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"The value is not JSON: {exc}"[:200]) from exc


def sign(header: Mapping[str, Any], payload: Mapping[str, Any], signer: Signer) -> str:
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS or algorithm != signer.algorithm:
        raise UnsupportedAlgorithm(f"Cannot sign with alg {algorithm!r}.")
    signing_input = (
        base64url.encode(dumps(dict(header))) + "." + base64url.encode(dumps(dict(payload)))
    )
    signature = signer.sign(signing_input.encode("ascii"))
    return signing_input + "." + base64url.encode(signature)


@dataclass(frozen=True)
class Compact:
    """A parsed, not yet verified compact JWS."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse(token: str, what: str, error: type[SdJwtError]) -> Compact:
    if len(token) > MAX_JWT_BYTES:
        raise error(f"The {what} is larger than {MAX_JWT_BYTES} bytes.")
    parts = token.split(".")
    if len(parts) != 3:
        raise error(f"The {what} is not a compact JWS (three base64url parts).")
    header = json_object(b64_canonical(parts[0], f"{what} header", error), f"{what} header", error)
    payload = json_object(
        b64_canonical(parts[1], f"{what} payload", error), f"{what} payload", error
    )
    signature = b64_canonical(parts[2], f"{what} signature", error)
    # RFC 7515 §4.1.11: an unknown critical extension makes the JWS invalid; we know none.
    if "crit" in header:
        raise error(f"The {what} header has a 'crit' parameter this verifier does not support.")
    return Compact(header, payload, (parts[0] + "." + parts[1]).encode("ascii"), signature)


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
    if key.algorithm != algorithm:
        raise UnsupportedAlgorithm(
            f"The {what} alg {algorithm!r} does not match the {key.key_type} key."
        )
    try:
        key.verify(jws.signature, jws.signing_input)
    except InvalidSignature as exc:
        raise error(f"The {what} signature does not verify.") from exc
