"""Certificate revocation lists (RFC 5280 §5, §6.3): where a certificate's CRL is, and whether a
fetched CRL says it is revoked. No I/O: the verifier fetches (``verifier/certificates.py``).

pyca/cryptography parses the CRL and checks its signature; this module adds the checks of RFC 5280
§6.3.3 a verifier must make before it believes a CRL: the CRL's issuer is the certificate's issuer,
the signature is that issuer's (whose key usage, if stated, allows ``cRLSign``), it is current
(``thisUpdate`` <= now <= ``nextUpdate``), it is a complete CRL for this kind of certificate (no
delta, indirect or reason-partitioned CRL, which Taito does not assemble), and it has no critical
extension Taito does not process (§5.2). A CRL that fails any of these says nothing:
:class:`RevocationUnknown`, never "not revoked".

::

    CertificateError (keys.x509)
    ├── RevocationUnknown     certificate_revocation_unknown  no usable CRL: revocation unknown
    └── CertificateChainError (keys.x509)
        └── CertificateRevoked  certificate_revoked          on its issuer's current CRL
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID

from keys.x509 import Certificate, CertificateChainError, CertificateError, to_utc

__all__ = [
    "MEDIA_TYPE",
    "CertificateRevoked",
    "RevocationUnknown",
    "check_listed",
    "distribution_points",
    "revoked",
    "verified",
]

MAX_CRL_BYTES = 4 * 1024 * 1024
MEDIA_TYPE = "application/pkix-crl"  # RFC 5280 §4.2.1.13 / RFC 2585 §4.2

# RFC 5280 §5.2: the CRL extensions this module processes; any other one marked critical makes the
# CRL unusable. (The issuing distribution point is processed by refusing the partitioned CRLs it
# announces, below; a delta CRL is refused whatever its criticality.)
_KNOWN_CRL_EXTENSIONS = {
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.CRL_NUMBER,
    ExtensionOID.ISSUING_DISTRIBUTION_POINT,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    ExtensionOID.FRESHEST_CRL,
}
_KNOWN_ENTRY_EXTENSIONS = {
    CRLEntryExtensionOID.CRL_REASON,
    CRLEntryExtensionOID.INVALIDITY_DATE,
}


_CRL_SIGNER_KEYS = (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey)


class RevocationUnknown(CertificateError):
    code = "certificate_revocation_unknown"
    title = "Certificate revocation status is unknown"


class CertificateRevoked(CertificateChainError):
    code = "certificate_revoked"
    title = "Certificate has been revoked"


def distribution_points(certificate: Certificate) -> list[str]:
    """The http(s) URLs of the certificate's CRL distribution points (RFC 5280 §4.2.1.13).

    Only points naming the whole CRL of the certificate's own issuer count: a point limited to
    some reasons or naming another CRL issuer needs CRLs Taito does not assemble.
    """
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    except ValueError as exc:  # a malformed extension is the certificate's problem
        raise CertificateError(f"The CRL distribution points do not parse: {exc}"[:200]) from exc
    urls: list[str] = []
    for point in points:
        if point.reasons is not None or point.crl_issuer is not None or point.full_name is None:
            continue
        for name in point.full_name:
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.lower().startswith(
                ("http://", "https://")
            ):
                urls.append(name.value)
    return list(dict.fromkeys(urls))


def _load(data: bytes) -> x509.CertificateRevocationList:
    if not isinstance(data, bytes) or not data:
        raise RevocationUnknown("The CRL is empty.")
    if len(data) > MAX_CRL_BYTES:
        raise RevocationUnknown(f"The CRL is larger than {MAX_CRL_BYTES} bytes.")
    try:
        # RFC 5280 §4.2.1.13: a CRL at an HTTP URI is DER; PEM is accepted as well.
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except (ValueError, x509.InvalidVersion) as exc:
        raise RevocationUnknown("The CRL does not parse as an X.509 CRL.") from exc


def _check_scope(crl: x509.CertificateRevocationList, certificate: Certificate) -> None:
    for extension in crl.extensions:
        if extension.oid == ExtensionOID.DELTA_CRL_INDICATOR:
            # RFC 5280 §5.2.4: a delta CRL lists changes only; it is read with its base CRL.
            raise RevocationUnknown("The CRL is a delta CRL, which lists changes only.")
        if extension.critical and extension.oid not in _KNOWN_CRL_EXTENSIONS:
            # RFC 5280 §5.2: a critical extension the application cannot process.
            oid = extension.oid.dotted_string
            raise RevocationUnknown(
                f"The CRL has a critical extension Taito does not process ({oid})."
            )
    try:
        scope = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return
    # RFC 5280 §5.2.5 / §6.3.3 (b)(2): a partitioned CRL must cover this certificate, all reasons.
    if scope.indirect_crl or scope.only_some_reasons is not None:
        raise RevocationUnknown("The CRL is indirect or covers only some reasons.")
    if scope.only_contains_attribute_certs:
        raise RevocationUnknown("The CRL covers attribute certificates only.")
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if (scope.only_contains_ca_certs and not is_ca) or (scope.only_contains_user_certs and is_ca):
        raise RevocationUnknown("The CRL does not cover this kind of certificate.")
    if scope.full_name is not None:
        names = {n.value for n in scope.full_name if isinstance(n, x509.UniformResourceIdentifier)}
        if not names & set(distribution_points(certificate)):
            raise RevocationUnknown("The CRL is for another distribution point of its issuer.")


def _check_issuer(crl: x509.CertificateRevocationList, issuer: Certificate) -> None:
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    # RFC 5280 §6.3.3 (f): the CRL signer's key usage, when present, includes cRLSign.
    if usage is not None and not usage.crl_sign:
        raise RevocationUnknown("The certificate's issuer may not sign CRLs (keyUsage).")
    # RFC 5280 §6.3.3 (g): the CRL's signature verifies with the issuer's key.
    public = issuer.public_key()
    if not isinstance(public, _CRL_SIGNER_KEYS):
        raise RevocationUnknown("The CRL issuer's key type is not one Taito verifies.")
    try:
        valid = crl.is_signature_valid(public)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise RevocationUnknown("The CRL is not signed by the certificate's issuer.")


def verified(data: bytes, issuer: Certificate) -> x509.CertificateRevocationList:
    """The CRL in ``data`` (DER or PEM), issued and signed by ``issuer``; else
    :class:`RevocationUnknown`. Whom and when it speaks for is :func:`check_listed`'s part."""
    listed = _load(data)
    try:
        _check_issuer(listed, issuer)  # first: the signature covers the bytes as sent, unparsed
        # RFC 5280 §6.3.3 (b)(1): a direct CRL, named as issued by the certificate's issuer.
        if listed.issuer != issuer.subject:
            raise RevocationUnknown("The CRL is not from the certificate's issuer.")
        listed.extensions  # noqa: B018 - parsed lazily: a malformed one raises here, not later
    except (ValueError, TypeError) as exc:  # pyca parses names and extensions on first use
        raise RevocationUnknown("The CRL does not parse as an X.509 CRL.") from exc
    return listed


def check_listed(
    listed: x509.CertificateRevocationList,
    certificate: Certificate,
    *,
    now: datetime,
    clock_skew: timedelta = timedelta(minutes=5),
) -> None:
    """What a :func:`verified` CRL says about ``certificate`` at ``now``: nothing when the
    certificate is not on it; :class:`CertificateRevoked` when it is, :class:`RevocationUnknown`
    when the CRL does not speak for this certificate at this time (see the module docstring).
    """
    moment = to_utc(now, "now")
    try:
        _check_listed(listed, certificate, moment, clock_skew)
    except (ValueError, TypeError) as exc:  # pyca parses the revoked entries on first use
        raise RevocationUnknown("The CRL's entries do not parse.") from exc


def _check_listed(
    listed: x509.CertificateRevocationList,
    certificate: Certificate,
    moment: datetime,
    clock_skew: timedelta,
) -> None:
    if listed.issuer != certificate.issuer:
        raise RevocationUnknown("The CRL is not from the certificate's issuer.")
    _check_scope(listed, certificate)
    # RFC 5280 §5.1.2.4-5 / §6.3.3 (a)(2): a CRL is current from thisUpdate until nextUpdate.
    next_update = listed.next_update_utc
    if next_update is None:
        raise RevocationUnknown("The CRL has no nextUpdate (RFC 5280 §5.1.2.5 requires it).")
    if listed.last_update_utc > moment + clock_skew:
        raise RevocationUnknown("The CRL is dated in the future.")
    if next_update < moment - clock_skew:
        raise RevocationUnknown(f"The CRL is out of date (nextUpdate {next_update.isoformat()}).")
    entry = listed.get_revoked_certificate_by_serial_number(certificate.serial_number)
    if entry is not None:
        _raise_revoked(entry, certificate)


def _raise_revoked(entry: x509.RevokedCertificate, certificate: Certificate) -> None:
    reason = None
    for extension in entry.extensions:
        if extension.oid == CRLEntryExtensionOID.CRL_REASON:
            reason = extension.value.reason
        elif extension.critical and extension.oid not in _KNOWN_ENTRY_EXTENSIONS:
            # RFC 5280 §5.3: e.g. certificateIssuer, which only an indirect CRL carries.
            raise RevocationUnknown("A CRL entry has a critical extension Taito does not process.")
    # RFC 5280 §5.3.1: removeFromCRL belongs to delta CRLs, which are refused above.
    raise revoked(certificate, entry.revocation_date_utc, reason)


def revoked(
    certificate: Certificate,
    revoked_at: datetime | None,
    reason: x509.ReasonFlags | None,
    *,
    source: str = "",
) -> CertificateRevoked:
    """The error for a revoked ``certificate``, said the same way whatever said so (``source``:
    how, e.g. "OCSP"; a CRL when empty)."""
    subject = certificate.subject.rfc4514_string()[:200]
    when = revoked_at.isoformat() if revoked_at is not None else "an unknown date"
    because = f" ({reason.value})" if reason is not None else ""
    by = f" ({source})" if source else ""
    return CertificateRevoked(
        f"The certificate {subject!r} was revoked on {when}{because}{by}.",
        extra={"subject": subject, "revoked_at": when, "reason": reason and reason.value},
    )
