"""JAdES baseline-B electronic seals (ETSI TS 119 182-1) over :mod:`keys.jose`.

A JAdES signature is a JWS whose protected header names the signing certificate and the claimed
signing time. :func:`seal` makes the compact form (RFC 7515 §7.1) with the header::

    alg       ES256 / RS256, from the signer                    RFC 7515 §4.1.1
    typ       "jose": a compact JWS                              RFC 7515 §4.1.9, §9.1.1
    cty       the caller's content type (optional)               RFC 7515 §4.1.10
    kid       base64 DER IssuerSerial of the signing cert       ETSI TS 119 182-1 §5.1 (as EDC)
    x5t#S256  SHA-256 of the signing certificate                ETSI TS 119 182-1 §5.1.7
    x5c       the chain, leaf first, base64 DER                  RFC 7515 §4.1.6
    sigT      claimed signing time, "YYYY-MM-DDThh:mm:ssZ"       ETSI TS 119 182-1 §5.2.1
    crit      ["sigT"]                                           RFC 7515 §4.1.11

The Europass (EDC) examples are the JWS JSON serialization (RFC 7515 §7.2) with an unencoded
payload (RFC 7797, ``b64: false``), ``typ: "jose+json"``, ``cty: "octet-stream"``, the same
``kid`` / ``x5t#S256`` / ``x5c`` / ``sigT``, and baseline-LTA extras (``adoTst`` and the
unprotected ``etsiU`` time-stamps and validation data). :func:`read_seal_json` and
:func:`verify_seal_json` read that form; time-stamp tokens are not validated here, so ``adoTst``
in ``crit`` is refused unless a caller lists it in ``understood_crit`` knowingly.

Time of validation. Baseline-B has no proof of existence: ``sigT`` is only what the signer
claims. :func:`verify_seal` therefore validates the chain at ``now`` (the caller's clock) and
additionally requires ``sigT`` to fall inside the signing certificate's validity and not after
``now``. A caller with a trusted proof of the signing time (a validated time-stamp, an audit log)
can call :func:`keys.x509.validate_chain` at that time itself.

::

    JoseError (keys.jose)
    └── JadesError                 jades_error          not a JAdES seal (missing/bad x5c, sigT, ...)
        └── SealCertificateMismatch jades_certificate   x5t#S256 or the signer's key does not match
    CertificateError (keys.x509)  invalid_certificate, certificate_chain, certificate_expired, ...
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from keys import base64url, jose
from keys.base64url import InvalidBase64Url
from keys.errors import InvalidSignature
from keys.jose import ALGORITHM_KEY_TYPE, DecodedJws, JoseError, MalformedJws
from keys.signing import Signer
from keys.x509 import (
    MAX_CHAIN_LENGTH,
    Certificate,
    CertificateError,
    CertificateExpired,
    CertificateNotYetValid,
    der_thumbprint_s256,
    load_der,
    public_key_of,
    validate_chain,
)
from schemas import strict_json

__all__ = [
    "DEFAULT_ALGORITHMS",
    "SIG_T_FORMAT",
    "DecodedSeal",
    "JadesError",
    "SealCertificateMismatch",
    "SealInfo",
    "format_sig_t",
    "issuer_serial_kid",
    "parse_sig_t",
    "read_seal",
    "read_seal_json",
    "seal",
    "verify_seal",
    "verify_seal_json",
    "verify_signature",
]

# ETSI TS 119 182-1 §5.2.1: sigT is a UTC time as "YYYY-MM-DDThh:mm:ssZ" (RFC 3339, no fraction).
SIG_T_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_ALGORITHMS: tuple[str, ...] = ("ES256", "RS256", "EdDSA")
COMPACT_TYP = "jose"  # RFC 7515 §9.1.1: the JWS compact serialization
MAX_CLOCK_SKEW = timedelta(minutes=5)


class JadesError(JoseError):
    code = "jades_error"
    title = "Not a valid JAdES seal"


class SealCertificateMismatch(JadesError):
    code = "jades_certificate"
    title = "Seal does not match its signing certificate"


class DecodedSeal(NamedTuple):
    """A seal split and its header read — nothing verified yet."""

    jws: DecodedJws
    chain: list[Certificate]
    signing_time: datetime
    serialization: Literal["compact", "json"]

    @property
    def header(self) -> dict[str, Any]:
        return self.jws.header

    @property
    def payload(self) -> bytes:
        return self.jws.payload


@dataclass(frozen=True)
class SealInfo:
    """A verified seal: what was sealed, when (claimed), by whom, through which chain."""

    payload: bytes
    header: dict[str, Any]
    signing_time: datetime
    chain: list[Certificate]  # as validated: leaf first, trust anchor last
    subject: x509.Name

    def _attribute(self, oid: x509.ObjectIdentifier) -> str | None:
        values = self.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    @property
    def organisation(self) -> str | None:
        return self._attribute(NameOID.ORGANIZATION_NAME)

    @property
    def organisation_identifier(self) -> str | None:
        return self._attribute(NameOID.ORGANIZATION_IDENTIFIER)

    @property
    def country(self) -> str | None:
        return self._attribute(NameOID.COUNTRY_NAME)


def format_sig_t(moment: datetime) -> str:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise JadesError("The signing time must be a timezone-aware datetime.")
    return moment.astimezone(UTC).strftime(SIG_T_FORMAT)


def parse_sig_t(value: Any) -> datetime:
    # ETSI TS 119 182-1 §5.2.1: exactly the UTC form; other RFC 3339 spellings are refused.
    if not isinstance(value, str) or len(value) != 20:
        raise JadesError(
            "'sigT' must be a UTC time 'YYYY-MM-DDThh:mm:ssZ' (ETSI TS 119 182-1 §5.2.1)."
        )
    try:
        return datetime.strptime(value, SIG_T_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise JadesError(
            f"'sigT' {value!r} is not a valid UTC time (ETSI TS 119 182-1 §5.2.1)."
        ) from exc


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def issuer_serial_kid(certificate: Certificate) -> str:
    """``kid`` as JAdES uses it: base64 of the DER ``IssuerSerial`` (RFC 5035 §4) of the cert.

    ``IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }``
    with the issuer as one ``directoryName`` ([4], explicit because Name is a CHOICE).
    """
    name = certificate.issuer.public_bytes()
    serial = certificate.serial_number
    serial_bytes = serial.to_bytes(serial.bit_length() // 8 + 1, "big")  # DER: minimal, signed
    general_names = _der(0x30, _der(0xA4, name))
    der = _der(0x30, general_names + _der(0x02, serial_bytes))
    return base64.b64encode(der).decode("ascii")


def _x5c(chain: Sequence[Certificate]) -> list[str]:
    # RFC 7515 §4.1.6: base64 (not base64url) DER, the certificate containing the key first.
    return [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain
    ]


def seal(
    payload: bytes,
    *,
    signer: Signer,
    chain: Sequence[Certificate],
    signing_time: datetime,
    content_type: str | None = None,
) -> str:
    """Seal ``payload`` as a JAdES baseline-B compact JWS; see the module docstring for the header.

    The signer's key must be the key certified by ``chain[0]``: the signature is checked against
    the certificate right after signing, so a wrong key (or HSM slot) never leaves this function.
    """
    certificates = list(chain)
    if not certificates:
        raise JadesError("A seal needs the signing certificate chain (x5c, RFC 7515 §4.1.6).")
    if len(certificates) > MAX_CHAIN_LENGTH:
        raise JadesError(f"The chain has more than {MAX_CHAIN_LENGTH} certificates.")
    if not all(isinstance(c, x509.Certificate) for c in certificates):
        raise JadesError("The chain holds cryptography x509.Certificate objects.")
    leaf = certificates[0]
    leaf_key = public_key_of(leaf)
    algorithm = signer.algorithm
    if ALGORITHM_KEY_TYPE.get(algorithm) != leaf_key.key_type:
        raise SealCertificateMismatch(
            f"The signer uses {algorithm!r} but the certificate holds a {leaf_key.key_type} key."
        )
    header: dict[str, Any] = {"alg": algorithm, "typ": COMPACT_TYP}
    if content_type is not None:
        header["cty"] = content_type
    header.update(
        {
            "kid": issuer_serial_kid(leaf),
            "x5t#S256": der_thumbprint_s256(leaf),
            "x5c": _x5c(certificates),
            "sigT": format_sig_t(signing_time),
            # RFC 7515 §4.1.11 + ETSI TS 119 182-1 §5.2.1: sigT is a critical extension.
            "crit": ["sigT"],
        }
    )
    token = jose.sign_compact(payload, header, signer)
    decoded = jose.decode_unverified(token)
    try:
        leaf_key.verify(decoded.signature, decoded.signing_input)
    except InvalidSignature as exc:
        raise SealCertificateMismatch(
            "The signer's key is not the key of the signing certificate (x5c[0])."
        ) from exc
    return token


def _chain_from_header(header: Mapping[str, Any]) -> list[Certificate]:
    x5c = header.get("x5c")
    # RFC 7515 §4.1.6: the chain, leaf first, as base64 DER strings.
    if not isinstance(x5c, list) or not x5c:
        raise JadesError("The seal has no 'x5c' certificate chain (RFC 7515 §4.1.6).")
    if len(x5c) > MAX_CHAIN_LENGTH:
        raise JadesError(f"'x5c' has more than {MAX_CHAIN_LENGTH} certificates.")
    chain = []
    for entry in x5c:
        if not isinstance(entry, str):
            raise JadesError("'x5c' entries are base64 strings (RFC 7515 §4.1.6).")
        try:
            der = base64.b64decode(entry, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise JadesError("An 'x5c' entry is not base64 (RFC 7515 §4.1.6).") from exc
        try:
            chain.append(load_der(der))
        except CertificateError as exc:
            raise JadesError(f"An 'x5c' entry is not a certificate: {exc.detail}") from exc
    # ETSI TS 119 182-1 §5.1.7: the signing certificate is referenced by its digest.
    thumbprint = header.get("x5t#S256")
    if thumbprint is None:
        raise JadesError(
            "The seal does not reference its signing certificate with 'x5t#S256' "
            "(ETSI TS 119 182-1 §5.1.7; 'x5t#o' and 'sigX5ts' are not supported)."
        )
    if not isinstance(thumbprint, str) or thumbprint != der_thumbprint_s256(chain[0]):
        raise SealCertificateMismatch("'x5t#S256' does not match the certificate in x5c[0].")
    return chain


def _signing_time(header: Mapping[str, Any]) -> datetime:
    if "sigT" not in header:
        raise JadesError("The seal has no claimed signing time 'sigT' (ETSI TS 119 182-1 §5.2.1).")
    crit = header.get("crit")
    if not isinstance(crit, list) or "sigT" not in crit:
        raise JadesError("'sigT' must be listed in 'crit' (ETSI TS 119 182-1 §5.2.1).")
    return parse_sig_t(header["sigT"])


def read_seal(token: str) -> DecodedSeal:
    """Split a compact JAdES seal and read its chain and signing time — nothing is verified."""
    decoded = jose.decode_unverified(token)
    return DecodedSeal(
        decoded, _chain_from_header(decoded.header), _signing_time(decoded.header), "compact"
    )


def read_seal_json(document: Mapping[str, Any] | str | bytes) -> DecodedSeal:
    """Read a JAdES seal in the JWS JSON serialization (RFC 7515 §7.2), as Europass issues it.

    General (``signatures`` with exactly one entry) and flattened forms are read; the payload may
    be unencoded (RFC 7797 ``b64: false``), the signing input then being
    ``BASE64URL(protected) || '.' || payload`` (RFC 7797 §3).
    """
    if isinstance(document, str | bytes):
        try:
            document = strict_json.loads(document, max_bytes=jose.MAX_TOKEN_BYTES)
        except strict_json.MalformedJson as exc:
            raise MalformedJws(f"The JWS JSON is not valid JSON: {exc.detail}") from exc
    if not isinstance(document, Mapping):
        raise MalformedJws("A JWS JSON serialization is an object (RFC 7515 §7.2).")
    if "signatures" in document:
        signatures = document["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            raise JadesError("A seal carries exactly one signature (RFC 7515 §7.2.1).")
        entry = signatures[0]
    else:
        entry = document  # flattened (RFC 7515 §7.2.2)
    if not isinstance(entry, Mapping):
        raise MalformedJws("A JWS signature entry is an object (RFC 7515 §7.2.1).")
    protected_b64 = entry.get("protected")
    payload_text = document.get("payload")
    signature_b64 = entry.get("signature")
    if not isinstance(protected_b64, str) or not protected_b64:
        raise JadesError("A seal's header must be integrity-protected ('protected').")
    if not isinstance(payload_text, str) or not isinstance(signature_b64, str):
        raise MalformedJws("'payload' and 'signature' must be strings (RFC 7515 §7.2.1).")
    try:
        header_bytes = base64url.decode(protected_b64)
        signature = base64url.decode(signature_b64)
        header = strict_json.loads(header_bytes, max_bytes=jose.MAX_HEADER_BYTES)
    except strict_json.MalformedJson as exc:
        raise MalformedJws(f"The protected header is not valid JSON: {exc.detail}") from exc
    except InvalidBase64Url as exc:
        raise MalformedJws("'protected' or 'signature' is not canonical base64url.") from exc
    if not isinstance(header, dict):
        raise MalformedJws("The protected header is not a JSON object (RFC 7515 §5.2).")
    unprotected = entry.get("header")
    if unprotected is not None:
        if not isinstance(unprotected, Mapping):
            raise MalformedJws("The unprotected 'header' must be an object (RFC 7515 §7.2.1).")
        # RFC 7515 §7.2.1: protected and unprotected header names are disjoint.
        if set(unprotected) & set(header):
            raise MalformedJws("A header name appears both protected and unprotected.")
    b64 = header.get("b64", True)
    if b64 is False:
        # RFC 7797 §6: b64 must be understood and so must be listed in 'crit'.
        if "b64" not in (header.get("crit") or []):
            raise MalformedJws("'b64': false must be listed in 'crit' (RFC 7797 §6).")
        payload = payload_text.encode("utf-8")
        signing_input = protected_b64.encode("ascii") + b"." + payload
    elif b64 is True:
        try:
            payload = base64url.decode(payload_text)
        except InvalidBase64Url as exc:
            raise MalformedJws("The payload is not canonical base64url.") from exc
        signing_input = f"{protected_b64}.{payload_text}".encode("ascii")
    else:
        raise MalformedJws("'b64' must be a boolean (RFC 7797 §3).")
    decoded = DecodedJws(header, payload, signing_input, signature)
    return DecodedSeal(decoded, _chain_from_header(header), _signing_time(header), "json")


def verify_signature(
    decoded: DecodedSeal,
    *,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    understood_crit: Collection[str] = ("sigT",),
) -> None:
    """Verify the seal's signature with the key of its signing certificate (``x5c[0]``).

    Checks only the signature, the algorithm/key binding and ``crit``; not the chain.
    """
    leaf_key = public_key_of(decoded.chain[0])
    jws = decoded.jws
    if jws.header.get("b64", True) is False:
        # RFC 7797 was handled by read_seal_json (signing input over the raw payload); keys.jose
        # refuses b64 by design, so it sees the header without it.
        header = {k: v for k, v in jws.header.items() if k != "b64"}
        crit = [n for n in header.get("crit", []) if n != "b64"]
        if crit:
            header["crit"] = crit
        else:
            header.pop("crit", None)
        jws = DecodedJws(header, jws.payload, jws.signing_input, jws.signature)
    jose.check_decoded(
        jws,
        algorithms=algorithms,
        resolve_key=lambda _header: leaf_key,
        understood_crit=understood_crit,
    )


def _finish(decoded: DecodedSeal, *, anchors: Sequence[Certificate], now: datetime) -> SealInfo:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise JadesError("'now' must be a timezone-aware datetime.")
    leaf = decoded.chain[0]
    # The claimed signing time must be one at which the certificate could sign, and not later
    # than the validation time (allowing for clock skew).
    if decoded.signing_time > now.astimezone(UTC) + MAX_CLOCK_SKEW:
        raise JadesError("The claimed signing time 'sigT' is in the future.")
    if decoded.signing_time > leaf.not_valid_after_utc:
        raise CertificateExpired("The seal claims a signing time after its certificate expired.")
    if decoded.signing_time < leaf.not_valid_before_utc:
        raise CertificateNotYetValid(
            "The seal claims a signing time before its certificate was valid."
        )
    path = validate_chain(decoded.chain, anchors, now=now)
    return SealInfo(
        payload=decoded.payload,
        header=dict(decoded.header),
        signing_time=decoded.signing_time,
        chain=path,
        subject=leaf.subject,
    )


def verify_seal(
    token: str,
    *,
    anchors: Sequence[Certificate],
    now: datetime,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
) -> SealInfo:
    """Verify a compact JAdES seal: signature by ``x5c[0]``, ``x5t#S256``, ``sigT``, and the chain
    to one of ``anchors`` at ``now`` (see the module docstring for why ``now``)."""
    decoded = read_seal(token)
    verify_signature(decoded, algorithms=algorithms, understood_crit=("sigT",))
    return _finish(decoded, anchors=anchors, now=now)


def verify_seal_json(
    document: Mapping[str, Any] | str | bytes,
    *,
    anchors: Sequence[Certificate],
    now: datetime,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    understood_crit: Collection[str] = ("b64", "sigT"),
) -> SealInfo:
    """Like :func:`verify_seal` for the JWS JSON serialization (the Europass form)."""
    decoded = read_seal_json(document)
    verify_signature(decoded, algorithms=algorithms, understood_crit=understood_crit)
    return _finish(decoded, anchors=anchors, now=now)
