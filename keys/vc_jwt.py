"""JWT-secured credentials and presentations: Open Badges 3.0 VC-JWT, VC-JOSE-COSE, VC 1.1 JWTs.

Three shapes share one compact JWS (:mod:`keys.jose`):

============  =================  ============================================================
profile       header ``typ``     payload
============  =================  ============================================================
``ob3-jwt``   ``JWT``            the credential + ``iss``/``jti``/``nbf``/``exp``/``sub``
                                 (Open Badges 3.0 §8.2 "JSON Web Token Proof Format")
``vc+jwt``    ``vc+jwt``         the credential itself, no ``vc`` claim (VC-JOSE-COSE §3.1.1)
``vp+jwt``    ``vp+jwt``         the presentation itself, no ``vp`` claim (VC-JOSE-COSE §3.1.2)
``vc11-jwt``  ``JWT`` / absent   a ``vc`` or ``vp`` claim (VC Data Model 1.1 §6.3.1); verify only
============  =================  ============================================================

Verification returns the credential (or presentation) JSON with the JWT's registered claims taken
off (``ob3-jwt``/``vc+jwt``/``vp+jwt``) or folded back in by the 1.1 transformation rules
(``vc11-jwt``), plus the header and those claims. Time is a parameter (``now=``); keys come from a
``resolve_key(header, payload)`` callable — :func:`resolve_offline_jwt_key` does did:key / did:jwk.

::

    JoseError (keys.jose)
    └── VcJwtError              vc_jwt_error
        ├── MalformedJwt        malformed_jwt        payload not a strict JSON object
        ├── InvalidJwtClaims    invalid_jwt_claims   claim of the wrong type, missing issuer, vc + typ
        ├── JwtTypMismatch      jwt_wrong_typ        ``typ`` not what the caller accepts
        ├── JwtClaimMismatch    jwt_claim_mismatch   iss/jti/sub disagree with the credential
        ├── JwtExpired          jwt_expired          now >= exp + leeway
        ├── JwtNotYetValid      jwt_not_yet_valid    now + leeway < nbf
        ├── JwtAudienceMismatch jwt_audience         aud does not name the caller
        ├── JwtNonceMismatch    jwt_nonce            nonce differs from the expected one
        └── UntrustedJwtKey     jwt_key_untrusted    no offline key bound to the issuer
"""

from __future__ import annotations

import copy
import functools
import hmac
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from keys import base64url, jose
from keys.did import VerificationMethod, resolve_offline, split_did_url
from keys.errors import DidError
from keys.jwk import PublicKey, public_key_from_jwk
from keys.signing import Signer
from schemas import strict_json
from schemas.errors import TaitoError

__all__ = [
    "DEFAULT_ALGORITHMS",
    "InvalidJwtClaims",
    "JwtAudienceMismatch",
    "JwtClaimMismatch",
    "JwtExpired",
    "JwtNonceMismatch",
    "JwtNotYetValid",
    "JwtTypMismatch",
    "MalformedJwt",
    "Profile",
    "UntrustedJwtKey",
    "VcJwtError",
    "VerifiedJwt",
    "resolve_offline_jwt_key",
    "sign_credential_jwt",
    "sign_presentation_jwt",
    "verify_jwt_credential",
]

Profile = Literal["ob3-jwt", "vc+jwt", "vp+jwt", "vc11-jwt"]
JwtKeyResolver = Callable[[Mapping[str, Any], Mapping[str, Any]], PublicKey]

DEFAULT_ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "RS256")
MAX_PAYLOAD_DEPTH = strict_json.MAX_DEPTH
# typ values accepted when the caller names none: OB 3.0 / VC 1.1 "JWT", VC-JOSE-COSE, or absent.
_DEFAULT_TYPS = ("JWT", "vc+jwt", "vp+jwt")
# RFC 7519 §4.1 registered claims plus the OpenID ``nonce``: what is not credential content.
_JWT_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nonce")
_JWT_CLAIM_NAMES = frozenset(_JWT_CLAIMS)
_PRESENTATION = "VerifiablePresentation"
_MIN_NUMERIC_DATE = -62135596800  # 0001-01-01T00:00:00Z
_MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z


class VcJwtError(jose.JoseError):
    code = "vc_jwt_error"
    title = "JWT-secured credential cannot be processed"


class MalformedJwt(VcJwtError):
    code = "malformed_jwt"
    title = "Malformed JWT payload"


class InvalidJwtClaims(VcJwtError):
    code = "invalid_jwt_claims"
    title = "Invalid JWT claims"


class JwtTypMismatch(VcJwtError):
    code = "jwt_wrong_typ"
    title = "Unexpected JWT type"


class JwtClaimMismatch(VcJwtError):
    code = "jwt_claim_mismatch"
    title = "JWT claims disagree with the credential"


class JwtExpired(VcJwtError):
    code = "jwt_expired"
    title = "JWT has expired"


class JwtNotYetValid(VcJwtError):
    code = "jwt_not_yet_valid"
    title = "JWT is not yet valid"


class JwtAudienceMismatch(VcJwtError):
    code = "jwt_audience"
    title = "JWT audience does not match"


class JwtNonceMismatch(VcJwtError):
    code = "jwt_nonce"
    title = "JWT nonce does not match"


class UntrustedJwtKey(VcJwtError):
    code = "jwt_key_untrusted"
    title = "No trusted key for the JWT issuer"


@dataclass(frozen=True)
class VerifiedJwt:
    """A verified JWT credential or presentation."""

    profile: Profile
    credential: dict[str, Any]
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)


# --- helpers -------------------------------------------------------------------------------------


def _entity_id(value: Any) -> str | None:
    """``issuer`` / ``holder`` / ``credentialSubject``: a URL string or an object with ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _types(document: Mapping[str, Any]) -> list[Any]:
    kind = document.get("type")
    return kind if isinstance(kind, list) else [kind]


def _is_presentation(document: Mapping[str, Any]) -> bool:
    return _PRESENTATION in _types(document)


def _subject_id(credential: Mapping[str, Any]) -> str | None:
    """``credentialSubject.id`` when there is exactly one subject with an id."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if len(subject) == 1 else None
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        return str(subject["id"])
    return None


def _utc(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise VcJwtError("'now' must be a timezone-aware datetime.")
    return now.astimezone(UTC)


def _numeric_date(text: Any, member: str) -> int:
    """An XML Schema dateTime as a JWT NumericDate (RFC 7519 §2), whole seconds."""
    if not isinstance(text, str):
        raise InvalidJwtClaims(f"'{member}' must be a dateTime string.")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidJwtClaims(f"'{member}' is not a dateTime: {text[:64]!r}.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # VC DM 2.0 §4.9: no offset means UTC ("Z")
    return int(moment.timestamp())


def _date_time(numeric: int | float) -> str:
    return datetime.fromtimestamp(numeric, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None and name not in claims:
        return None
    # RFC 7519 §2 NumericDate: a JSON number (booleans are not), here within years 1..9999.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidJwtClaims(f"The '{name}' claim must be a NumericDate (RFC 7519 §2).")
    if not _MIN_NUMERIC_DATE <= value <= _MAX_NUMERIC_DATE:  # also false for inf / nan
        raise InvalidJwtClaims(f"The '{name}' claim is out of range.")
    return float(value)


def _payload_bytes(payload: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidJwtClaims(f"The JWT payload is not JSON-serialisable: {exc}"[:200]) from exc
    return text.encode("utf-8")


def _document(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidJwtClaims(f"The {what} must be a JSON object.")
    clash = sorted(name for name in ("vc", "vp") if name in value)
    if clash:
        # VC-JOSE-COSE §3.1.1/§3.1.2: the payload is the document itself, no vc / vp claim.
        raise InvalidJwtClaims(f"The {what} must not carry a {clash[0]!r} claim.")
    return copy.deepcopy(dict(value))


# --- signing -------------------------------------------------------------------------------------


def sign_credential_jwt(
    credential: Mapping[str, Any],
    *,
    signer: Signer,
    profile: Literal["ob3", "vc+jwt"],
    now: datetime | None = None,
) -> str:
    """Sign a credential as an OB 3.0 VC-JWT (``"ob3"``) or a VC-JOSE-COSE ``vc+jwt``.

    ``now``, when given, becomes ``iat`` (RFC 7519 §4.1.6) and, for OB 3.0, ``nbf`` when the
    credential has no ``validFrom``.
    """
    payload = _document(credential, "credential")
    if _is_presentation(payload):
        raise InvalidJwtClaims("This is a presentation; use sign_presentation_jwt.")
    issuer = _entity_id(payload.get("issuer"))
    if issuer is None:
        raise InvalidJwtClaims("The credential has no issuer id.")
    claims: dict[str, Any] = {}
    if profile == "ob3":
        # OB 3.0 §8.2 (JWT claims table): iss=issuer.id, jti=id, nbf=validFrom, exp=validUntil,
        # sub=credentialSubject.id; the header carries alg, typ "JWT" and kid.
        typ = "JWT"
        claims["iss"] = issuer
        if isinstance(payload.get("id"), str):
            claims["jti"] = payload["id"]
        subject = _subject_id(payload)
        if subject is not None:
            claims["sub"] = subject
        if "validFrom" in payload:
            claims["nbf"] = _numeric_date(payload["validFrom"], "validFrom")
        elif now is not None:
            claims["nbf"] = int(_utc(now).timestamp())
        if "validUntil" in payload:
            claims["exp"] = _numeric_date(payload["validUntil"], "validUntil")
    elif profile == "vc+jwt":
        # VC-JOSE-COSE §3.1.1: typ vc+jwt and the payload is the credential itself; the issuer
        # stays in ``issuer`` (no duplicating iss), key binding goes through kid.
        typ = "vc+jwt"
    else:
        raise VcJwtError(f"Unknown VC-JWT profile {profile!r}; expected 'ob3' or 'vc+jwt'.")
    if now is not None:
        claims["iat"] = int(_utc(now).timestamp())
    clash = sorted(name for name in claims if name in payload)
    if clash:
        raise InvalidJwtClaims(f"The credential already has member(s) {clash} used as JWT claims.")
    header = {"alg": signer.algorithm, "typ": typ, "kid": signer.key_id}
    return jose.sign_compact(_payload_bytes({**payload, **claims}), header, signer)


def sign_presentation_jwt(
    presentation: Mapping[str, Any],
    *,
    signer: Signer,
    audience: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
) -> str:
    """Sign a presentation as a VC-JOSE-COSE ``vp+jwt`` (§3.1.2); ``aud``/``nonce`` bind it."""
    payload = _document(presentation, "presentation")
    if not _is_presentation(payload):
        raise InvalidJwtClaims("A presentation's type must include 'VerifiablePresentation'.")
    claims: dict[str, Any] = {}
    holder = _entity_id(payload.get("holder"))
    if holder is not None:
        claims["iss"] = holder
    if audience is not None:
        claims["aud"] = audience
    if nonce is not None:
        claims["nonce"] = nonce
    if now is not None:
        claims["iat"] = int(_utc(now).timestamp())
    clash = sorted(name for name in claims if name in payload)
    if clash:
        raise InvalidJwtClaims(f"The presentation already has member(s) {clash} used as claims.")
    header = {"alg": signer.algorithm, "typ": "vp+jwt", "kid": signer.key_id}
    return jose.sign_compact(_payload_bytes({**payload, **claims}), header, signer)


# --- verification --------------------------------------------------------------------------------


def _parse_payload(raw: bytes) -> dict[str, Any]:
    try:
        payload = strict_json.loads(
            raw, max_bytes=jose.MAX_TOKEN_BYTES, max_depth=MAX_PAYLOAD_DEPTH
        )
    except strict_json.MalformedJson as exc:
        # RFC 7519 §7.2 step 10: the claims set is a JSON object; duplicate names rejected (§4).
        raise MalformedJwt(f"The JWT payload is not valid JSON: {exc.detail}") from exc
    if not isinstance(payload, dict):
        raise MalformedJwt("The JWT payload is not a JSON object (RFC 7519 §7.2).")
    return payload


def _profile_of(header: Mapping[str, Any], payload: Mapping[str, Any]) -> Profile:
    typ = header.get("typ")
    legacy = [name for name in ("vc", "vp") if name in payload]
    if legacy:
        if len(legacy) == 2:
            raise InvalidJwtClaims("A JWT carries either a 'vc' or a 'vp' claim, not both.")
        if typ is not None and not jose.typ_matches(typ, "JWT"):
            # VC-JOSE-COSE §3.1.1/§3.1.2 forbids vc/vp claims under its media types.
            raise InvalidJwtClaims(f"typ {typ!r} does not allow a {legacy[0]!r} claim.")
        return "vc11-jwt"
    if jose.typ_matches(typ, "vp+jwt"):
        return "vp+jwt"
    if jose.typ_matches(typ, "vc+jwt"):
        return "vc+jwt"
    if jose.typ_matches(typ, "JWT"):
        return "ob3-jwt"
    return "vp+jwt" if _is_presentation(payload) else "vc+jwt"


def _check_typ(header: Mapping[str, Any], expected_typ: Collection[str] | None) -> None:
    typ = header.get("typ")
    if expected_typ is None:
        if typ is None or any(jose.typ_matches(typ, t) for t in _DEFAULT_TYPS):
            return
        raise JwtTypMismatch(f"typ {typ!r} is not a credential or presentation JWT.")
    if isinstance(expected_typ, str):
        expected_typ = (expected_typ,)
    if not any(jose.typ_matches(typ, t) for t in expected_typ):
        raise JwtTypMismatch(f"typ {typ!r} is not one of {sorted(expected_typ)}.")


def _check_times(claims: Mapping[str, Any], now: datetime, leeway: timedelta) -> None:
    moment = now.timestamp()  # an aware datetime (verify_jwt_credential checked it)
    slack = leeway.total_seconds()
    expires = _number(claims, "exp")
    not_before = _number(claims, "nbf")
    _number(claims, "iat")
    # RFC 7519 §4.1.4: reject on or after exp; §4.1.5: reject before nbf (small leeway allowed).
    if expires is not None and moment >= expires + slack:
        raise JwtExpired(f"The JWT expired at {_date_time(expires)}.")
    if not_before is not None and moment + slack < not_before:
        raise JwtNotYetValid(f"The JWT is not valid before {_date_time(not_before)}.")


def _check_binding(claims: Mapping[str, Any], audience: str | None, nonce: str | None) -> None:
    aud = claims.get("aud")
    if "aud" in claims:
        names = aud if isinstance(aud, list) else [aud]
        if not all(isinstance(n, str) for n in names):
            raise InvalidJwtClaims("The 'aud' claim must be a string or an array of strings.")
        # RFC 7519 §4.1.3: a recipient not named in aud MUST reject the JWT.
        if audience is None or audience not in names:
            raise JwtAudienceMismatch("The JWT is meant for another audience.")
    elif audience is not None:
        raise JwtAudienceMismatch("The JWT names no audience but one is required.")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
            raise JwtNonceMismatch("The JWT nonce does not match.")


def _same(claim: str, claims: Mapping[str, Any], value: str | None, member: str) -> None:
    if claim in claims and value is not None and claims[claim] != value:
        raise JwtClaimMismatch(f"The '{claim}' claim does not match the document's {member}.")


def _split_claims(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    document = {k: v for k, v in payload.items() if k not in _JWT_CLAIM_NAMES}
    claims = {k: v for k, v in payload.items() if k in _JWT_CLAIM_NAMES}
    return document, claims


def _check_claim_types(claims: Mapping[str, Any]) -> None:
    for name in ("iss", "sub", "jti", "nonce"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidJwtClaims(f"The '{name}' claim must be a string (RFC 7519 §4.1).")


def _from_vc11(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """VC Data Model 1.1 §6.3.1 (JWT decoding): fold the registered claims back into the VC/VP."""
    name = "vc" if "vc" in payload else "vp"
    if not isinstance(payload[name], dict):
        raise InvalidJwtClaims(f"The '{name}' claim must be a JSON object.")
    document = copy.deepcopy(payload[name])
    claims = {k: v for k, v in payload.items() if k != name}
    _check_claim_types(claims)
    if name == "vp":
        _same("iss", claims, _entity_id(document.get("holder")), "holder")
        _same(
            "jti", claims, document.get("id") if isinstance(document.get("id"), str) else None, "id"
        )
        if "iss" in claims and "holder" not in document:
            document["holder"] = claims["iss"]
        if "jti" in claims:
            document["id"] = claims["jti"]
        return document, claims
    # iss -> issuer (id), jti -> id, sub -> credentialSubject.id: must agree when both are present.
    _same("iss", claims, _entity_id(document.get("issuer")), "issuer")
    _same("jti", claims, document.get("id") if isinstance(document.get("id"), str) else None, "id")
    _same("sub", claims, _subject_id(document), "credentialSubject.id")
    if "iss" in claims:
        issuer = document.get("issuer")
        if isinstance(issuer, dict):
            issuer["id"] = claims["iss"]
        else:
            document["issuer"] = claims["iss"]
    if "jti" in claims:
        document["id"] = claims["jti"]
    if "sub" in claims:
        subject = document.get("credentialSubject")
        if isinstance(subject, dict):
            subject["id"] = claims["sub"]
        elif subject is None:
            document["credentialSubject"] = {"id": claims["sub"]}
    # nbf -> issuanceDate, exp -> expirationDate (XML Schema dateTime).
    not_before, expires = _number(claims, "nbf"), _number(claims, "exp")
    if not_before is not None:
        document["issuanceDate"] = _date_time(not_before)
    if expires is not None:
        document["expirationDate"] = _date_time(expires)
    return document, claims


def verify_jwt_credential(
    token: str,
    *,
    resolve_key: JwtKeyResolver,
    now: datetime,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    leeway: timedelta = timedelta(seconds=60),
    expected_typ: Collection[str] | None = None,
    audience: str | None = None,
    nonce: str | None = None,
) -> VerifiedJwt:
    """Verify a JWT-secured credential or presentation and return what it secures.

    Order: JWS structure and header, ``typ``, strict payload, key + signature (:mod:`keys.jose`),
    then claims (types, ``exp``/``nbf`` against ``now`` ± ``leeway``, ``aud``/``nonce``, and
    ``iss``/``jti``/``sub`` against the document).
    """
    now = _utc(now)
    decoded = jose.decode_unverified(token)
    _check_typ(decoded.header, expected_typ)
    payload = _parse_payload(decoded.payload)
    profile = _profile_of(decoded.header, payload)
    result = jose.verify_decoded(
        decoded,
        algorithms=algorithms,
        resolve_key=lambda header: resolve_key(header, payload),
    )
    if profile == "vc11-jwt":
        document, claims = _from_vc11(payload)
    else:
        document, claims = _split_claims(payload)
        _check_claim_types(claims)
    _check_times(claims, now, leeway)
    _check_binding(claims, audience, nonce)
    if profile == "vc11-jwt":
        return VerifiedJwt(profile, document, result.header, claims)
    if profile == "vp+jwt":
        if not _is_presentation(document):
            raise InvalidJwtClaims("A vp+jwt payload must be a VerifiablePresentation.")
        # VC-JOSE-COSE §3.1.2: iss, when present, is the holder.
        _same("iss", claims, _entity_id(document.get("holder")), "holder")
        return VerifiedJwt(profile, document, result.header, claims)
    if _is_presentation(document):
        raise InvalidJwtClaims(f"A {profile} payload must be a credential, not a presentation.")
    issuer = _entity_id(document.get("issuer"))
    if issuer is None:
        raise InvalidJwtClaims("The credential has no issuer id.")
    if profile == "ob3-jwt" and "iss" not in claims:
        raise InvalidJwtClaims("An Open Badges 3.0 VC-JWT carries the 'iss' claim (OB 3.0 §8.2).")
    # OB 3.0 §8.2 / VC-JOSE-COSE §3.1.1: iss is the issuer id, jti the id, sub the subject id.
    _same("iss", claims, issuer, "issuer")
    _same("jti", claims, document.get("id") if isinstance(document.get("id"), str) else None, "id")
    _same("sub", claims, _subject_id(document), "credentialSubject.id")
    return VerifiedJwt(profile, document, result.header, claims)


# --- offline key resolution ----------------------------------------------------------------------


def _issuer_of(payload: Mapping[str, Any]) -> str | None:
    """Who must control the key: ``iss``, else the document's issuer (or holder)."""
    if isinstance(payload.get("iss"), str):
        return str(payload["iss"])
    document = payload.get("vc", payload.get("vp", payload))
    if not isinstance(document, Mapping):
        return None
    if _is_presentation(document):
        return _entity_id(document.get("holder"))
    return _entity_id(document.get("issuer"))


@functools.lru_cache(maxsize=1024)
def _resolve(did_url: str) -> VerificationMethod:
    """:func:`keys.did.resolve_offline`, with a did:jwk's JSON parsed strictly first.

    A pure function of the DID URL (did:key / did:jwk carry the key itself), so results are kept
    (bounded): decoding a compressed P-256 point costs more than verifying its signature.

    A did:jwk is attacker-chosen text here: its JWK must be a shallow JSON object without
    duplicate member names (RFC 7517 §4 / RFC 7515 §5.2 spirit) before it reaches the resolver.
    """
    did = split_did_url(did_url)[0]
    if did.startswith("did:jwk:"):
        try:
            jwk = strict_json.loads(base64url.decode(did[len("did:jwk:") :]), max_depth=2)
        except TaitoError as exc:
            raise DidError(f"The did:jwk does not hold a JSON object: {exc.detail}") from exc
        if not isinstance(jwk, dict):
            raise DidError("The did:jwk does not hold a JSON object.")
    return resolve_offline(did_url)


def resolve_offline_jwt_key(header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
    """The issuer's key from a did:key / did:jwk ``kid`` or ``iss``, without any network.

    * ``kid`` a DID URL: resolved offline; its DID must be the issuer's (``iss`` or issuer id).
    * ``kid`` a bare fragment (``#…`` or ``…``): taken relative to the issuer's did:key/did:jwk.
    * no ``kid``: the issuer's did:key/did:jwk itself (it has exactly one key).
    * an embedded ``jwk`` header is accepted only when it *is* that key (RFC 7515 §4.1.3 keys are
      never trusted for being there).
    """
    issuer = _issuer_of(payload)
    kid = header.get("kid")
    try:
        if isinstance(kid, str) and kid.startswith("did:"):
            method = _resolve(kid)
            if issuer is not None and (
                not issuer.startswith("did:") or split_did_url(issuer)[0] != method.controller
            ):
                raise UntrustedJwtKey("The kid's DID is not the issuer's DID.")
        elif issuer is not None and issuer.startswith("did:"):
            did = split_did_url(issuer)[0]
            if isinstance(kid, str) and kid:
                method = _resolve(f"{did}#{kid.removeprefix('#')}")
            else:
                method = _resolve(did)
        else:
            raise UntrustedJwtKey("Neither kid nor iss names a did:key / did:jwk key.")
    except DidError as exc:
        raise UntrustedJwtKey(f"The issuer key cannot be resolved offline: {exc.detail}") from exc
    if "jwk" in header:
        try:
            embedded = public_key_from_jwk(header["jwk"])
        except TaitoError as exc:
            raise UntrustedJwtKey(f"The embedded jwk is not a valid key: {exc.detail}") from exc
        if embedded != method.public_key:
            raise UntrustedJwtKey("The embedded jwk is not the issuer DID's key.")
    return method.public_key
