"""X.509 certificates for electronic seals: a development CA, seal certificates, chain validation.

A JAdES seal (``keys.jades``) carries its signer's certificate chain in ``x5c``; this module makes
such chains for development and tests and validates received ones against the caller's trust
anchors. Path building and signature checks are pyca/cryptography's own
(:mod:`cryptography.x509.verification`, RFC 5280 §6 path validation with the CA/B Forum profile on
CA certificates); this module adds what a seal needs around it:

* the end-entity is a seal certificate, not a TLS client: it has no DNS name and usually no
  ``clientAuth`` extended key usage, so the leaf's extension policy is relaxed
  (:meth:`ExtensionPolicy.permit_all`) while every CA certificate keeps the Web PKI CA profile;
* validity is checked first, per certificate, so "expired" and "not yet valid" are their own
  typed errors instead of a message to parse;
* keys are P-256 (ES256, the default) or RSA >= 2048 bits (RS256) — what JAdES verifiers accept.

::

    KeysError (keys.errors)
    └── CertificateError          invalid_certificate     not a certificate, unsupported key
        └── CertificateChainError certificate_chain       no path to an anchor, bad signature
            ├── CertificateExpired        certificate_expired        notAfter < time
            └── CertificateNotYetValid    certificate_not_yet_valid  notBefore > time
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from keys import base64url
from keys.errors import KeysError
from keys.jwk import MAX_RSA_BITS, MIN_RSA_BITS, PrivateKey, PublicKey

__all__ = [
    "Certificate",
    "CertificateChainError",
    "CertificateError",
    "CertificateExpired",
    "CertificateNotYetValid",
    "der_thumbprint_s256",
    "dns_names",
    "dump_pem",
    "from_x5c",
    "load_der",
    "load_pem_chain",
    "make_ca",
    "make_request_signing_certificate",
    "make_seal_certificate",
    "public_key_of",
    "validate_chain",
    "x5c",
]

Certificate = x509.Certificate

MAX_CHAIN_LENGTH = 8  # certificates in a received chain, leaf included
MAX_PEM_BYTES = 256 * 1024


class CertificateError(KeysError):
    code = "invalid_certificate"
    title = "Invalid certificate"


class CertificateChainError(CertificateError):
    code = "certificate_chain"
    title = "Certificate chain does not validate"


class CertificateExpired(CertificateChainError):
    code = "certificate_expired"
    title = "Certificate has expired"


class CertificateNotYetValid(CertificateChainError):
    code = "certificate_not_yet_valid"
    title = "Certificate is not yet valid"


def to_utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise CertificateError(f"{what} must be a timezone-aware datetime.")
    return moment.astimezone(UTC)


def _hash_for(key: PrivateKey) -> hashes.SHA256:
    # RFC 5758 §3.2 ecdsa-with-SHA256 / RFC 4055 sha256WithRSAEncryption: the only choices here.
    if key.key_type not in ("p256", "rsa"):
        raise CertificateError(
            f"Certificates here use P-256 or RSA keys, not {key.key_type} "
            "(Ed25519 is outside the Web PKI profile JAdES verifiers apply)."
        )
    return hashes.SHA256()


def _check_public(key: PublicKey) -> None:
    if key.key_type not in ("p256", "rsa"):
        raise CertificateError(f"Certificates here certify P-256 or RSA keys, not {key.key_type}.")


def _name(value: str | x509.Name) -> x509.Name:
    if isinstance(value, x509.Name):
        return value
    if not isinstance(value, str) or not value.strip():
        raise CertificateError("A certificate name must be a non-empty string or x509.Name.")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value.strip())])


def _period(now: datetime, days: int) -> tuple[datetime, datetime]:
    start = to_utc(now, "now").replace(microsecond=0)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 36_500:
        raise CertificateError("A certificate is valid for 1 to 36500 days.")
    return start, start + timedelta(days=days)


def _serial(serial: int | None) -> int:
    # RFC 5280 §4.1.2.2: a positive integer of at most 20 octets.
    value = x509.random_serial_number() if serial is None else serial
    if not isinstance(value, int) or not 0 < value < 2**159:
        raise CertificateError("A certificate serial number is a positive integer < 2**159.")
    return value


def make_ca(
    name: str | x509.Name,
    key: PrivateKey,
    *,
    now: datetime,
    days: int,
    serial: int | None = None,
) -> Certificate:
    """A self-signed development CA certificate (RFC 5280 §4.2.1.9 cA=TRUE, keyCertSign).

    For development and tests only: production seals come from a (qualified) trust service.
    """
    hash_algorithm = _hash_for(key)
    subject = _name(name)
    not_before, not_after = _period(now, days)
    public = key.raw.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(_serial(serial))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    )
    return builder.sign(key.raw, hash_algorithm)


def make_seal_certificate(
    ca_cert: Certificate,
    ca_key: PrivateKey,
    subject_key: PublicKey,
    *,
    organisation: str,
    country: str,
    organisation_identifier: str | None,
    now: datetime,
    days: int,
    serial: int | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
) -> Certificate:
    """An electronic-seal certificate for a legal person, issued by ``ca_cert``.

    Subject per ETSI EN 319 412-3 §4.2.1: commonName, organizationName, countryName and, when
    given, organizationIdentifier (OID 2.5.4.97, e.g. ``"VATFI-12345678"``). Key usage per
    ETSI EN 319 412-2 §4.3.2 for seals: digitalSignature and nonRepudiation (contentCommitment).
    ``crl_url``: where the CA publishes its CRL (RFC 5280 §4.2.1.13 cRLDistributionPoints);
    ``ocsp_url``: its OCSP responder (RFC 5280 §4.2.2.1 authorityInfoAccess, id-ad-ocsp).
    """
    hash_algorithm = _hash_for(ca_key)
    _check_public(subject_key)
    if not isinstance(organisation, str) or not organisation.strip():
        raise CertificateError("A seal certificate needs the organisation's name.")
    if not isinstance(country, str) or len(country) != 2 or not country.isalpha():
        raise CertificateError("The country is an ISO 3166-1 alpha-2 code, e.g. 'FI'.")
    ca_public = public_key_of(ca_cert)
    if ca_key.public_key() != ca_public:
        raise CertificateError("The CA key does not belong to the CA certificate.")
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, country.upper()),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.strip()),
    ]
    if organisation_identifier is not None:
        if not organisation_identifier.strip():
            raise CertificateError("The organisation identifier must not be empty.")
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organisation_identifier.strip())
        )
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, organisation.strip()))
    builder = _end_entity(
        ca_cert,
        ca_public,
        x509.Name(attributes),
        subject_key,
        now,
        days,
        serial,
        seal=True,
        crl_url=crl_url,
        ocsp_url=ocsp_url,
    )
    return builder.sign(ca_key.raw, hash_algorithm)


def _end_entity(
    ca_cert: Certificate,
    ca_public: PublicKey,
    subject: x509.Name,
    subject_key: PublicKey,
    now: datetime,
    days: int,
    serial: int | None,
    *,
    seal: bool,
    crl_url: str | None,
    ocsp_url: str | None = None,
) -> x509.CertificateBuilder:
    """An end-entity certificate under ``ca_cert``: cA=FALSE, keyUsage digitalSignature (and
    nonRepudiation for a seal), key identifiers (RFC 5280 §4.2.1.1-3, §4.2.1.9), where the CA
    publishes its CRL when ``crl_url`` is given (§4.2.1.13 cRLDistributionPoints) and its OCSP
    responder when ``ocsp_url`` is (§4.2.2.1 authorityInfoAccess)."""
    not_before, not_after = _period(now, days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(subject_key.raw)
        .serial_number(_serial(serial))
        .not_valid_before(not_before)
        .not_valid_after(min(not_after, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=seal,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.raw),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public.raw),
            critical=False,
        )
    )
    if ocsp_url is not None:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    if crl_url is None:
        return builder
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
    return builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)


def make_request_signing_certificate(
    ca_cert: Certificate,
    ca_key: PrivateKey,
    subject_key: PublicKey,
    *,
    dns_name: str,
    now: datetime,
    days: int,
    serial: int | None = None,
    crl_url: str | None = None,
) -> Certificate:
    """A certificate for a verifier's request-signing key, issued by ``ca_cert``.

    OpenID4VP 1.0 §5.9.3 ``x509_san_dns``: the client identifier is a ``dNSName`` Subject
    Alternative Name (RFC 5280 §4.2.1.6) of the leaf; key usage digitalSignature only.
    ``crl_url``: where the CA publishes its CRL.
    """
    hash_algorithm = _hash_for(ca_key)
    _check_public(subject_key)
    name = dns_name.strip().lower() if isinstance(dns_name, str) else ""
    if not name or len(name) > 253 or any(c.isspace() or c in "/:@" for c in name):
        raise CertificateError("A request-signing certificate needs a DNS name, e.g. 'rp.example'.")
    ca_public = public_key_of(ca_cert)
    if ca_key.public_key() != ca_public:
        raise CertificateError("The CA key does not belong to the CA certificate.")
    builder = _end_entity(
        ca_cert, ca_public, _name(name), subject_key, now, days, serial, seal=False, crl_url=crl_url
    ).add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(ca_key.raw, hash_algorithm)


def dns_names(certificate: Certificate) -> list[str]:
    """The ``dNSName`` entries of the Subject Alternative Name extension (RFC 5280 §4.2.1.6)."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    except ValueError as exc:
        raise CertificateError("The certificate's extensions do not parse.") from exc
    return [name.lower() for name in extension.value.get_values_for_type(x509.DNSName)]


def load_pem_chain(data: bytes) -> list[Certificate]:
    """Every certificate of a PEM bundle, in order (RFC 7468 §5)."""
    if not isinstance(data, bytes):
        raise CertificateError("A PEM bundle is bytes.")
    if len(data) > MAX_PEM_BYTES:
        raise CertificateError(f"The PEM bundle is larger than {MAX_PEM_BYTES} bytes.")
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion) as exc:  # a version field outside v1-v3
        raise CertificateError("The data is not a PEM certificate bundle.") from exc
    except CryptographyDeprecationWarning as exc:  # raised where warnings are errors
        raise _bad_serial() from exc
    return [_positive_serial(certificate) for certificate in certificates]


def load_der(data: bytes) -> Certificate:
    """One DER certificate (as in ``x5c``, RFC 7515 §4.1.6)."""
    if not isinstance(data, bytes) or not data:
        raise CertificateError("A DER certificate is non-empty bytes.")
    try:
        certificate = x509.load_der_x509_certificate(data)
    except (ValueError, x509.InvalidVersion) as exc:  # a version field outside v1-v3
        raise CertificateError("The data is not a DER X.509 certificate.") from exc
    except CryptographyDeprecationWarning as exc:  # raised where warnings are errors
        raise _bad_serial() from exc
    return _positive_serial(certificate)


def _bad_serial() -> CertificateError:
    return CertificateError("The certificate's serial number is not positive (RFC 5280 §4.1.2.2).")


def _positive_serial(certificate: Certificate) -> Certificate:
    # RFC 5280 §4.1.2.2: the serial number MUST be a positive integer. pyca still loads one that is
    # not, with a deprecation warning (an error in a future release, and in our tests).
    if certificate.serial_number <= 0:
        raise _bad_serial()
    return certificate


def x5c(chain: Iterable[Certificate]) -> list[str]:
    """The JOSE ``x5c`` header value: standard base64 DER, leaf first (RFC 7515 §4.1.6)."""
    return [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain
    ]


def from_x5c(value: object) -> list[Certificate]:
    """The certificates of an ``x5c`` header value (RFC 7515 §4.1.6), leaf first."""
    if not isinstance(value, list) or not value or len(value) > MAX_CHAIN_LENGTH:
        raise CertificateError(
            f"x5c is a non-empty array of at most {MAX_CHAIN_LENGTH} certificates."
        )
    chain = []
    for item in value:
        if not isinstance(item, str) or len(item) > MAX_PEM_BYTES:
            raise CertificateError("An x5c entry is a base64 DER certificate.")
        try:
            der = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CertificateError(
                "An x5c entry is not standard base64 (RFC 7515 §4.1.6)."
            ) from exc
        chain.append(load_der(der))
    return chain


def dump_pem(certificates: Certificate | Iterable[Certificate]) -> bytes:
    if isinstance(certificates, x509.Certificate):
        certificates = [certificates]
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def der_thumbprint_s256(certificate: Certificate) -> str:
    """``x5t#S256``: base64url SHA-256 of the DER certificate (RFC 7515 §4.1.8)."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return base64url.encode(hashlib.sha256(der).digest())


def public_key_of(certificate: Certificate) -> PublicKey:
    """The certified key as a :class:`keys.jwk.PublicKey` (P-256 or RSA 2048..8192 bits)."""
    raw = certificate.public_key()
    if isinstance(raw, ec.EllipticCurvePublicKey):
        if not isinstance(raw.curve, ec.SECP256R1):
            raise CertificateError(f"The certificate's curve {raw.curve.name} is not P-256.")
        return PublicKey("p256", raw)
    if isinstance(raw, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= raw.key_size <= MAX_RSA_BITS:
            raise CertificateError(f"RSA certificate keys must have {MIN_RSA_BITS}+ bits.")
        return PublicKey("rsa", raw)
    raise CertificateError("The certificate's key is neither P-256 nor RSA.")


def _check_validity(certificate: Certificate, moment: datetime, role: str) -> None:
    # RFC 5280 §6.1.3 (a)(2): the certificate validity period includes the validation time.
    subject = certificate.subject.rfc4514_string()[:200]
    if moment > certificate.not_valid_after_utc:
        raise CertificateExpired(
            f"The {role} certificate {subject!r} expired on "
            f"{certificate.not_valid_after_utc.isoformat()}.",
            extra={"subject": subject, "not_after": certificate.not_valid_after_utc.isoformat()},
        )
    if moment < certificate.not_valid_before_utc:
        raise CertificateNotYetValid(
            f"The {role} certificate {subject!r} is valid only from "
            f"{certificate.not_valid_before_utc.isoformat()}.",
            extra={"subject": subject, "not_before": certificate.not_valid_before_utc.isoformat()},
        )


def validate_chain(
    chain: Sequence[Certificate], anchors: Sequence[Certificate], *, now: datetime
) -> list[Certificate]:
    """Check that ``chain`` (leaf first) leads to one of ``anchors`` at time ``now``.

    Raises :class:`CertificateExpired` / :class:`CertificateNotYetValid` when a certificate of the
    chain (or the anchor it names) is outside its validity period, :class:`CertificateChainError`
    when no path to an anchor exists, a signature is wrong or a CA certificate breaks the profile.
    Returns the validated path, leaf first, anchor last.

    An anchor need not be self-signed: trusting an intermediate (e.g. one qualified trust
    service's issuing CA from a trusted list) is how the EU trust model anchors seals.
    """
    moment = to_utc(now, "now")
    certificates = list(chain)
    if not certificates:
        raise CertificateChainError("The certificate chain is empty.")
    if len(certificates) > MAX_CHAIN_LENGTH:
        raise CertificateChainError(f"The chain has more than {MAX_CHAIN_LENGTH} certificates.")
    trusted = list(anchors)
    if not trusted:
        raise CertificateChainError("No trust anchors were given.")
    for certificate in [*certificates, *trusted]:
        if not isinstance(certificate, x509.Certificate):
            raise CertificateError("Chains and anchors hold cryptography x509.Certificate objects.")
    for index, certificate in enumerate(certificates):
        _check_validity(certificate, moment, "signing" if index == 0 else "intermediate")
    issuers = {c.issuer for c in certificates}
    for anchor in trusted:
        if anchor.subject in issuers:
            _check_validity(anchor, moment, "trust anchor")
    public_key_of(certificates[0])
    # RFC 5280 §6.1 path validation by pyca/cryptography: names chain, signatures verify
    # (verify_directly_issued_by at each step), basicConstraints cA and pathLen on CAs,
    # keyUsage keyCertSign on CAs. The seal leaf has no DNS name or clientAuth EKU, so its
    # extensions are only required to parse.
    verifier = (
        PolicyBuilder()
        .store(Store(trusted))
        .time(moment.replace(tzinfo=None))
        .max_chain_depth(MAX_CHAIN_LENGTH)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(certificates[0], certificates[1:])
    except VerificationError as exc:
        raise CertificateChainError(
            f"The certificate chain does not lead to a trust anchor: {exc}"[:300]
        ) from exc
    return list(verified.chain)
