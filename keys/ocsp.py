"""OCSP (RFC 6960): where a certificate's responder is, the request for its status, and whether a
response says it is revoked. No I/O: the verifier fetches (``verifier/certificates.py``).

The request is the lightweight profile's (RFC 5019 §2.1): one certificate, a SHA-1 CertID, no
nonce, sent by HTTP GET (RFC 6960 Appendix A.1), so responders and caches can answer it from
pre-produced responses. pyca/cryptography builds and parses the messages; this module makes the
checks of RFC 6960 §3.2 a client must make before it believes a response:

1. the response is ``successful`` and speaks of this certificate (serial, issuer name and key
   hashes, under the CertID's own hash algorithm);
2. it is signed by the certificate's issuer, or by a responder certificate that the issuer signed
   directly for ``id-kp-OCSPSigning`` (§4.2.2.2), valid now, and named by the ResponderID;
3. it is current: ``thisUpdate`` not in the future, ``nextUpdate`` not past (without a
   ``nextUpdate``, ``thisUpdate`` no older than ``max_age``);
4. it has no critical extension Taito does not process.

A response that fails any of these says nothing: :class:`~keys.crl.RevocationUnknown`, never
"good". A delegated responder's own revocation status is what RFC 6960 §4.2.2.2.1 leaves to
local policy; ours: its certificate must carry ``id-pkix-ocsp-nocheck`` (the CA's word that it
may be trusted for its lifetime, which the CA/Browser Forum's Baseline Requirements make every
OCSP-signing certificate carry). Without it, the answer is unknown: asking its CA about the
responder would be a second round of I/O for a certificate built to need none.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from keys.crl import RevocationUnknown, revoked
from keys.x509 import Certificate, CertificateError, to_utc

__all__ = [
    "REQUEST_MEDIA_TYPE",
    "RESPONSE_MEDIA_TYPE",
    "Good",
    "check_response",
    "request_url",
    "responders",
]

REQUEST_MEDIA_TYPE = "application/ocsp-request"  # RFC 6960 Appendix C.1
RESPONSE_MEDIA_TYPE = "application/ocsp-response"  # RFC 6960 Appendix C.2
MAX_RESPONSE_BYTES = 256 * 1024
_CERT_ID_HASHES = (hashes.SHA1, hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)


@dataclass(frozen=True)
class Good:
    """A response's "good" answer and the time it speaks for (``next_update`` may be None)."""

    this_update: datetime
    next_update: datetime | None


def responders(certificate: Certificate) -> list[str]:
    """The http(s) URLs of the certificate's OCSP responders (RFC 5280 §4.2.2.1, id-ad-ocsp)."""
    try:
        access = certificate.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        ).value
    except x509.ExtensionNotFound:
        return []
    except ValueError as exc:  # a malformed extension is the certificate's problem
        message = f"The authority information access does not parse: {exc}"[:200]
        raise CertificateError(message) from exc
    urls = [
        description.access_location.value
        for description in access
        if description.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(description.access_location, x509.UniformResourceIdentifier)
        and description.access_location.value.lower().startswith(("http://", "https://"))
    ]
    return list(dict.fromkeys(urls))


def request_url(responder: str, certificate: Certificate, issuer: Certificate) -> str:
    """The GET URL asking ``responder`` for ``certificate``'s status (RFC 6960 Appendix A.1:
    ``{url}/{url-encoding of base-64 encoding of the DER encoding of the OCSPRequest}``)."""
    # RFC 5019 §2.1.1: SHA-1 CertID (what every responder answers; no collision matters here, as
    # the response is signed), one request, no extensions.
    sha1 = hashes.SHA1()  # noqa: S303
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, sha1).build()
    encoded = base64.b64encode(request.public_bytes(serialization.Encoding.DER)).decode("ascii")
    return f"{responder.rstrip('/')}/{quote(encoded, safe='')}"


def check_response(
    data: bytes,
    certificate: Certificate,
    issuer: Certificate,
    *,
    now: datetime,
    clock_skew: timedelta = timedelta(minutes=5),
    max_age: timedelta = timedelta(hours=1),
) -> Good:
    """What the OCSP response in ``data`` (DER) says of ``certificate``: :class:`Good`, or
    :class:`~keys.crl.CertificateRevoked`, or :class:`~keys.crl.RevocationUnknown` when it cannot
    be relied on (see the module docstring) or the responder does not know the certificate."""
    moment = to_utc(now, "now")
    response = _load(data)
    try:
        _check_signer(response, issuer, moment, clock_skew)
        single = _single_response(response, certificate, issuer)
        _check_extensions(response.extensions, "response")
        _check_extensions(response.single_extensions, "single response")
        status = single.certificate_status
        this_update, next_update = single.this_update_utc, single.next_update_utc
        revoked_at, reason = single.revocation_time_utc, single.revocation_reason
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # pyca parses on first use
        raise RevocationUnknown("The OCSP response does not parse.") from exc
    # RFC 6960 §3.2 (4)-(5), §4.2.2.1: thisUpdate recent enough, nextUpdate not past.
    if this_update > moment + clock_skew:
        raise RevocationUnknown("The OCSP response is dated in the future.")
    if next_update is not None and next_update < moment - clock_skew:
        raise RevocationUnknown(f"The OCSP response is out of date (nextUpdate {next_update}).")
    if next_update is None and this_update < moment - max_age - clock_skew:
        raise RevocationUnknown("The OCSP response has no nextUpdate and is too old.")
    if status == ocsp.OCSPCertStatus.GOOD:
        return Good(this_update, next_update)
    if status == ocsp.OCSPCertStatus.UNKNOWN:
        raise RevocationUnknown("The OCSP responder does not know the certificate.")
    raise revoked(certificate, revoked_at, reason, source="OCSP")


def _load(data: bytes) -> ocsp.OCSPResponse:
    if not isinstance(data, bytes) or not data:
        raise RevocationUnknown("The OCSP response is empty.")
    if len(data) > MAX_RESPONSE_BYTES:
        raise RevocationUnknown(f"The OCSP response is larger than {MAX_RESPONSE_BYTES} bytes.")
    try:
        response = ocsp.load_der_ocsp_response(data)
    except ValueError as exc:
        raise RevocationUnknown("The OCSP response does not parse.") from exc
    # RFC 6960 §2.3: only "successful" carries an answer; tryLater, unauthorized etc. do not.
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        status = response.response_status.name.lower()
        raise RevocationUnknown(f"The OCSP responder answered {status!r}.")
    return response


def _names(response: ocsp.OCSPResponse, candidate: Certificate) -> bool:
    """Whether the ResponderID (RFC 6960 §4.2.1: byName or byKey) names ``candidate``."""
    if response.responder_name is not None:
        return response.responder_name == candidate.subject
    key_hash = x509.SubjectKeyIdentifier.from_public_key(candidate.public_key()).digest
    return response.responder_key_hash == key_hash


def _check_signer(
    response: ocsp.OCSPResponse, issuer: Certificate, moment: datetime, clock_skew: timedelta
) -> None:
    # RFC 6960 §4.2.2.2: the issuer itself, or a responder it certified for OCSP signing.
    if _names(response, issuer):
        signer = issuer
    else:
        delegated = [c for c in response.certificates if _names(response, c)]
        if not delegated:
            raise RevocationUnknown(
                "The OCSP response is signed by neither the issuer nor a "
                "responder certificate it carries."
            )
        signer = delegated[0]
        _check_delegate(signer, issuer, moment, clock_skew)
    if not _signature_valid(response, signer):
        raise RevocationUnknown("The OCSP response's signature does not verify.")


def _check_delegate(
    responder: Certificate, issuer: Certificate, moment: datetime, clock_skew: timedelta
) -> None:
    try:
        responder.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise RevocationUnknown(
            "The OCSP responder's certificate is not issued by the certificate's issuer."
        ) from exc
    try:
        usages = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is None or ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise RevocationUnknown("The OCSP responder's certificate is not for OCSP signing.")
    try:
        responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    except x509.ExtensionNotFound as exc:
        raise RevocationUnknown(
            "The OCSP responder's certificate carries no id-pkix-ocsp-nocheck, so its own "
            "status is unknown (RFC 6960 §4.2.2.2.1)."
        ) from exc
    if not (
        responder.not_valid_before_utc - clock_skew
        <= moment
        <= responder.not_valid_after_utc + clock_skew
    ):
        raise RevocationUnknown("The OCSP responder's certificate is not valid now.")


def _signature_valid(response: ocsp.OCSPResponse, signer: Certificate) -> bool:
    key = signer.public_key()
    try:
        algorithm = response.signature_hash_algorithm
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(response.signature, response.tbs_response_bytes)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            # PKCS #1 v1.5 (RFC 6960 §4.3); an RSASSA-PSS signature does not verify this way
            key.verify(
                response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm
            )
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _single_response(
    response: ocsp.OCSPResponse, certificate: Certificate, issuer: Certificate
) -> ocsp.OCSPSingleResponse:
    answers = list(response.responses)
    # One request, one answer (RFC 5019 §2.2.1); its extensions are read as the response's.
    if len(answers) != 1:
        raise RevocationUnknown("The OCSP response does not hold exactly one answer.")
    single = answers[0]
    # RFC 6960 §3.2 (1): the response is for the certificate asked about (the CertID matches).
    algorithm = single.hash_algorithm
    if single.serial_number == certificate.serial_number and isinstance(algorithm, _CERT_ID_HASHES):
        expected = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm).build()
        if (single.issuer_name_hash, single.issuer_key_hash) == (
            expected.issuer_name_hash,
            expected.issuer_key_hash,
        ):
            return single
    raise RevocationUnknown("The OCSP response does not speak of this certificate.")


def _check_extensions(extensions: x509.Extensions, what: str) -> None:
    # RFC 6960 §4.4 / RFC 5280 §4.2: a critical extension the client does not process.
    for extension in extensions:
        if extension.critical:
            oid = extension.oid.dotted_string
            raise RevocationUnknown(f"The OCSP {what} has a critical extension ({oid}).")
