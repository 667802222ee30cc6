"""Verifying an SD-JWT presentation (RFC 9901 §7.1, §7.3) and an SD-JWT VC's basics.

The order is the RFC's: split, check the issuer JWT (alg allow-list, ``typ``, signature), check
``_sd_alg``, process the Disclosures, check validity claims, then the Key Binding JWT. Time is a
parameter; the issuer key comes from a resolver the caller passes (``resolve_offline_issuer_key``
handles ``did:key`` / ``did:jwk``).
"""

from __future__ import annotations

import functools
import hmac
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from keys.did import resolve_offline, split_did_url
from keys.jwk import PublicKey, public_key_from_jwk
from keys.sd_jwt import _jws
from keys.sd_jwt.disclosure import DEFAULT_SD_ALG, SD_ALG, format_pointer, hash_function
from keys.sd_jwt.errors import (
    AudienceMismatch,
    Expired,
    InvalidArgument,
    InvalidClaim,
    InvalidIssuerSignature,
    InvalidKbSignature,
    InvalidKbTyp,
    InvalidTyp,
    IssuedInFuture,
    IssuerKeyUnresolved,
    KeyBindingRequired,
    KeyBindingTime,
    MalformedKeyBinding,
    MalformedSdJwt,
    MissingConfirmationKey,
    NonceMismatch,
    NotYetValid,
    SdHashMismatch,
)
from keys.sd_jwt.holder import KB_TYP, sd_hash
from keys.sd_jwt.issuer import VC_TYPES
from keys.sd_jwt.processing import MAX_PRESENTATION_BYTES, Revealed, process, split
from schemas.errors import TaitoError

DEFAULT_ALGORITHMS = ("EdDSA", "ES256", "RS256")
DEFAULT_TYPES = ("dc+sd-jwt", "vc+sd-jwt")

IssuerKeyResolver = Callable[[Mapping[str, Any], Mapping[str, Any]], PublicKey]


@dataclass(frozen=True)
class VerifiedSdJwt:
    """A verified presentation.

    ``claims``: the processed payload (RFC 9901 §7.1). ``revealed``: each Disclosure used, with
    the path where its value landed, parents before children; ``disclosed`` the same as (JSON
    Pointer into ``claims``, value). ``issuer_payload``: the signed payload as is, digests included.
    """

    claims: dict[str, Any]
    revealed: tuple[Revealed, ...]
    header: dict[str, Any]
    issuer_payload: dict[str, Any]
    key_bound: bool
    kb_header: dict[str, Any] | None = None
    kb_payload: dict[str, Any] | None = None

    @property
    def disclosed(self) -> list[tuple[str, Any]]:
        # written out on request: verification itself never needs the pointers
        return [(format_pointer(r.path), r.value) for r in self.revealed]


def _timestamp(value: datetime, name: str) -> float:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidArgument(f"{name} is a timezone-aware datetime.")
    return value.timestamp()


def _numeric_date(claims: Mapping[str, Any], name: str) -> int | float | None:
    if name not in claims:
        return None
    value = claims[name]
    # RFC 7519 §2: NumericDate is a JSON number of seconds (kept as is: a huge int never overflows).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClaim(f"The '{name}' claim is not a NumericDate.")
    if isinstance(value, float) and not math.isfinite(value):  # 1e400 parses as inf
        raise InvalidClaim(f"The '{name}' claim is not a NumericDate.")
    return value


def _check_validity(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    # RFC 9901 §7.1 with RFC 7519 §4.1.4-§4.1.6.
    exp = _numeric_date(claims, "exp")
    if exp is not None and now >= exp + leeway:
        raise Expired("The SD-JWT has expired.")
    nbf = _numeric_date(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise NotYetValid("The SD-JWT is not valid yet.")
    iat = _numeric_date(claims, "iat")
    if iat is not None and iat > now + leeway:
        raise IssuedInFuture("The SD-JWT is issued in the future.")


# did:key / did:jwk resolution and JWK import are pure functions of their text: keep the results
# (bounded), as decoding a compressed P-256 point costs more than verifying a signature with it.
_resolve_offline = functools.lru_cache(maxsize=1024)(resolve_offline)


@functools.lru_cache(maxsize=1024)
def _key_from_members(members: frozenset[tuple[str, Any]]) -> PublicKey:
    # Keyed by the members in any order. Members that are equal but not alike (1 and True) share an
    # entry: harmless, as an import succeeds only on string kty / crv / x / y / n / e.
    return public_key_from_jwk(dict(members))


def _holder_key(claims: Mapping[str, Any]) -> PublicKey:
    cnf = claims.get("cnf")
    if cnf is None:
        raise MissingConfirmationKey("A Key Binding JWT is present but the SD-JWT has no cnf.")
    if not isinstance(cnf, dict) or "jwk" not in cnf:
        raise MissingConfirmationKey("The SD-JWT cnf has no 'jwk' (RFC 7800 §3.2).")
    jwk = cnf["jwk"]
    try:
        if isinstance(jwk, dict):
            try:
                members = frozenset(jwk.items())
            except TypeError:  # a member whose value is an array or object: not cached
                return public_key_from_jwk(jwk)
            return _key_from_members(members)
        return public_key_from_jwk(jwk)
    except TaitoError as exc:
        raise InvalidClaim(f"The cnf.jwk is not a usable key: {exc.detail}") from exc


def _check_key_binding(
    token: str,
    *,
    claims: Mapping[str, Any],
    without_kb: str,
    sd_alg: str,
    algorithms: Collection[str],
    now: float,
    leeway: float,
    max_age: float,
    expected_nonce: str | None,
    expected_audience: str | None,
) -> _jws.Compact:
    kb = _jws.parse(token, "Key Binding JWT", MalformedKeyBinding)
    # RFC 9901 §7.3: typ kb+jwt, signature by the cnf key, fresh iat, nonce and aud, sd_hash.
    if kb.header.get("typ") != KB_TYP:
        raise InvalidKbTyp("The Key Binding JWT typ is not 'kb+jwt'.")
    key = _holder_key(claims)
    _jws.verify(kb, key, algorithms=algorithms, what="Key Binding JWT", error=InvalidKbSignature)
    payload = kb.payload
    try:
        iat = _numeric_date(payload, "iat")
    except InvalidClaim as exc:
        raise MalformedKeyBinding("The Key Binding JWT 'iat' is not a NumericDate.") from exc
    if iat is None:
        raise MalformedKeyBinding("The Key Binding JWT has no 'iat'.")
    nonce, aud, given_hash = payload.get("nonce"), payload.get("aud"), payload.get("sd_hash")
    if not isinstance(nonce, str):
        raise MalformedKeyBinding("The Key Binding JWT has no string 'nonce'.")
    # RFC 9901 §4.3: aud is a single string.
    if not isinstance(aud, str):
        raise MalformedKeyBinding("The Key Binding JWT has no single-string 'aud'.")
    if not isinstance(given_hash, str):
        raise MalformedKeyBinding("The Key Binding JWT has no string 'sd_hash'.")
    # RFC 9901 §4.3.1: sd_hash over the presentation up to and including the last '~'.
    if not hmac.compare_digest(given_hash.encode(), sd_hash(without_kb, sd_alg).encode()):
        raise SdHashMismatch("The Key Binding JWT sd_hash does not match this presentation.")
    if expected_nonce is not None and nonce != expected_nonce:
        raise NonceMismatch("The Key Binding JWT nonce is not the one expected.")
    if expected_audience is not None and aud != expected_audience:
        raise AudienceMismatch("The Key Binding JWT audience is not this verifier.")
    if iat > now + leeway:
        raise KeyBindingTime("The Key Binding JWT is issued in the future.")
    if iat < now - max_age - leeway:
        raise KeyBindingTime("The Key Binding JWT is too old.")
    return kb


def verify(
    presentation: str,
    *,
    resolve_issuer_key: IssuerKeyResolver,
    now: datetime,
    expected_nonce: str | None = None,
    expected_audience: str | None = None,
    require_key_binding: bool = False,
    max_kb_age: timedelta = timedelta(minutes=5),
    leeway: timedelta = timedelta(seconds=60),
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    expected_typ: Collection[str] | None = DEFAULT_TYPES,
    max_bytes: int = MAX_PRESENTATION_BYTES,
) -> VerifiedSdJwt:
    """Verify an SD-JWT (+KB) and return its processed claims, or raise a typed ``SdJwtError``.

    Key binding is required when ``require_key_binding`` is set or a nonce or audience is
    expected; a KB-JWT that is present is always checked. ``expected_typ=None`` skips the
    ``typ`` check (plain RFC 9901 SD-JWTs); an SD-JWT VC ``typ`` also requires ``vct``.
    ``resolve_issuer_key`` receives the *unverified* header and payload (read-only).
    """
    now_ts = _timestamp(now, "now")
    leeway_s, max_age_s = leeway.total_seconds(), max_kb_age.total_seconds()
    parts = split(presentation, max_bytes=max_bytes)
    issuer_jwt = _jws.parse(parts.issuer_jwt, "issuer JWT", MalformedSdJwt)
    header, payload = issuer_jwt.header, issuer_jwt.payload
    _jws.check_algorithm(header, algorithms, "issuer JWT")
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise InvalidTyp("The issuer JWT typ is not a string.")
    if expected_typ is not None and typ not in expected_typ:
        raise InvalidTyp(f"The issuer JWT typ {typ!r} is not one of {sorted(expected_typ)}.")

    key = resolve_issuer_key(MappingProxyType(header), MappingProxyType(payload))
    if not isinstance(key, PublicKey):
        raise InvalidArgument("resolve_issuer_key must return a keys.jwk.PublicKey.")
    _jws.verify(
        issuer_jwt, key, algorithms=algorithms, what="issuer JWT", error=InvalidIssuerSignature
    )
    # RFC 9901 §4.1.1: _sd_alg defaults to sha-256; anything else must be one we know.
    sd_alg = payload.get(SD_ALG, DEFAULT_SD_ALG)
    hash_function(sd_alg)

    processed = process(payload, parts.disclosures, sd_alg)
    claims = processed.claims
    _check_validity(claims, now_ts, leeway_s)
    # draft-ietf-oauth-sd-jwt-vc §3.2.2.2: vct is REQUIRED in an SD-JWT VC.
    if typ in VC_TYPES and not isinstance(claims.get("vct"), str):
        raise InvalidClaim("The SD-JWT VC has no string 'vct' claim.")

    kb_required = require_key_binding or expected_nonce is not None or expected_audience is not None
    kb: _jws.Compact | None = None
    if parts.key_binding_jwt:
        kb = _check_key_binding(
            parts.key_binding_jwt,
            claims=claims,
            without_kb=parts.without_key_binding,
            sd_alg=sd_alg,
            algorithms=algorithms,
            now=now_ts,
            leeway=leeway_s,
            max_age=max_age_s,
            expected_nonce=expected_nonce,
            expected_audience=expected_audience,
        )
    elif kb_required:
        # RFC 9901 §7.3: the verifier's policy, not the presentation, decides.
        raise KeyBindingRequired("This verifier requires a Key Binding JWT.")
    return VerifiedSdJwt(
        claims=claims,
        revealed=processed.revealed,
        header=header,
        issuer_payload=payload,
        key_bound=kb is not None,
        kb_header=kb.header if kb else None,
        kb_payload=kb.payload if kb else None,
    )


def resolve_offline_issuer_key(header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
    """The issuer key named by a did:key / did:jwk ``kid`` (or ``iss`` with a ``#kid``).

    When both ``kid`` and ``iss`` are DIDs, the method must belong to ``iss``.
    """
    kid, iss = header.get("kid"), payload.get("iss")
    iss_did = iss if isinstance(iss, str) and iss.startswith("did:") else None
    if isinstance(kid, str) and kid.startswith("did:"):
        did, _ = split_did_url(kid)
        if iss_did is not None and did != iss_did:
            raise IssuerKeyUnresolved("The kid names a key of another DID than iss.")
        return _resolve_offline(kid).public_key
    if iss_did is not None and isinstance(kid, str) and kid.startswith("#"):
        return _resolve_offline(iss_did + kid).public_key
    if iss_did is not None and kid is None:
        return _resolve_offline(iss_did).public_key
    raise IssuerKeyUnresolved("Neither kid nor iss is a DID that can be resolved offline.")
