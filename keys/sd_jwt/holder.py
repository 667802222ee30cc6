"""Presenting an SD-JWT (RFC 9901 §7.2) with an optional Key Binding JWT (RFC 9901 §4.3).

``reveal`` lists JSON Pointers (RFC 6901) into the fully disclosed claims, as the holder sees them
(array indexes count real elements, never decoys). Revealing a node keeps the Disclosures on the
way to it (its parents) and every Disclosure inside it; nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from keys import base64url
from keys.sd_jwt import _jws
from keys.sd_jwt.disclosure import (
    DEFAULT_SD_ALG,
    SD_ALG,
    Path,
    array_index,
    hash_function,
    parse_pointer,
)
from keys.sd_jwt.errors import (
    InvalidArgument,
    InvalidPointer,
    MalformedSdJwt,
    MissingConfirmationKey,
)
from keys.sd_jwt.processing import SEPARATOR, process, split
from keys.signing import Signer

KB_TYP = "kb+jwt"


def _check_reveal(claims: Any, pointer: str) -> tuple[str, ...]:
    tokens = parse_pointer(pointer)
    node = claims
    canonical: list[str] = []
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
            canonical.append(token)
        elif isinstance(node, list):
            index = array_index(token, len(node), pointer)
            node = node[index]
            canonical.append(str(index))
        else:
            raise InvalidPointer(f"JSON Pointer {pointer!r} names no claim of this SD-JWT.")
    return tuple(canonical)


def _related(path: Path, reveal: list[tuple[str, ...]]) -> bool:
    own = tuple(str(t) for t in path)
    return any(own[: len(r)] == r or r[: len(own)] == own for r in reveal)


def sd_hash(sd_jwt_without_kb: str, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """RFC 9901 §4.3.1: base64url(hash(ASCII(<Issuer-signed JWT>~<D1>~...~<Dn>~)))."""
    return base64url.encode(hash_function(sd_alg)(sd_jwt_without_kb.encode("ascii")).digest())


def present(
    sd_jwt: str,
    *,
    reveal: Iterable[str] | None = None,
    holder: Signer | None = None,
    nonce: str | None = None,
    audience: str | None = None,
    iat: datetime | None = None,
) -> str:
    """Keep the Disclosures for ``reveal`` (None: all) and, with ``holder``, add a KB-JWT.

    The issuer signature is not checked here: verify the SD-JWT when it is received.
    ``iat`` defaults to the current time (give it for deterministic output).
    """
    parts = split(sd_jwt)
    # RFC 9901 §7.2: an SD-JWT that already carries a Key Binding JWT is not presented again.
    if parts.key_binding_jwt:
        raise MalformedSdJwt("The SD-JWT already ends with a Key Binding JWT.")
    issuer_jwt = _jws.parse(parts.issuer_jwt, "issuer JWT", MalformedSdJwt)
    sd_alg = issuer_jwt.payload.get(SD_ALG, DEFAULT_SD_ALG)
    hash_function(sd_alg)
    processed = process(issuer_jwt.payload, parts.disclosures, sd_alg)

    if reveal is None:
        keep = {r.disclosure.encoded for r in processed.revealed}
    else:
        if isinstance(reveal, str):
            raise InvalidPointer("'reveal' is a collection of JSON Pointers, not one string.")
        wanted = [_check_reveal(processed.claims, pointer) for pointer in reveal]
        keep = {r.disclosure.encoded for r in processed.revealed if _related(r.path, wanted)}
    chosen = [d for d in parts.disclosures if d in keep]
    presentation = parts.issuer_jwt + SEPARATOR + "".join(d + SEPARATOR for d in chosen)

    if holder is None:
        if nonce is not None or audience is not None or iat is not None:
            raise InvalidArgument("nonce, audience and iat go into a KB-JWT: give a holder signer.")
        return presentation
    if not isinstance(nonce, str) or not nonce:
        raise InvalidArgument("A Key Binding JWT needs a nonce (RFC 9901 §4.3).")
    if not isinstance(audience, str) or not audience:
        raise InvalidArgument("A Key Binding JWT needs an audience (RFC 9901 §4.3).")
    when = iat if iat is not None else datetime.now().astimezone()
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise InvalidArgument("iat is a timezone-aware datetime.")
    cnf = processed.claims.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise MissingConfirmationKey("The SD-JWT has no cnf.jwk to bind a presentation to.")
    # RFC 9901 §4.3: header typ kb+jwt; payload iat, aud, nonce, sd_hash.
    header = {"alg": holder.algorithm, "typ": KB_TYP}
    payload = {
        "iat": int(when.timestamp()),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": sd_hash(presentation, sd_alg),
    }
    return presentation + _jws.sign(header, payload, holder)
