"""The configured seal CA (``TAITO_SEAL_CA_*``): it certifies institutions' seal keys and says
which of its certificates are revoked, by CRL (RFC 5280 §5) and by OCSP (RFC 6960).

Every certificate it issues names both (ETSI EN 319 412-2 §4.3.11: a seal certificate carries
a CRL distribution point or an OCSP responder): ``{public_url}/seal-ca/crl`` and
``{public_url}/seal-ca/ocsp``. When the institution's seal key rotates, the CA certifies the new
key and the old certificate stays valid: the seals it made are baseline-B, with no time-stamp to
prove they came before a revocation, so revoking it would void every credential sealed before.
An institution revokes a certificate itself (``POST /issuers/{slug}/seal-certificate/revoke``),
for a compromised key above all, and has the same key certified again with today's profile
(``/renew``: a certificate from before the CA kept records names no CRL or OCSP responder).

=================================  =====================================================
``GET /seal-ca/certificate``       the CA certificate (PEM), the trust anchor to configure
``GET /seal-ca/crl``               a complete CRL (DER), ``nextUpdate`` a day ahead: stored,
                                   signed again after a revocation or half a day
``GET /seal-ca/ocsp/{request}``    OCSP over GET (RFC 6960 Appendix A.1)
``POST /seal-ca/ocsp``             OCSP over POST, ``application/ocsp-request``
=================================  =====================================================
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from urllib.parse import unquote

from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer.context import IssuerContext, aware
from issuer.errors import NotFound, SigningUnavailable
from issuer.tables import Institution, SealCertificate, SealCrl
from keys import x509
from keys.jwk import PrivateKey, PublicKey
from schemas.learning import text_in

PEM_MEDIA_TYPE = "application/pem-certificate-chain"  # RFC 8555 §9.1
MAX_OCSP_REQUEST_BYTES = 8 * 1024
CRL_LIFETIME = timedelta(days=1)
CRL_REISSUE = timedelta(hours=12)  # a CRL served always has half a day before its nextUpdate
OCSP_LIFETIME = timedelta(hours=1)
SEAL_DAYS = 365


def configured(context: IssuerContext) -> tuple[pyca_x509.Certificate, PrivateKey]:
    if context.seal_ca is None:
        raise NotFound("This server runs no seal CA (TAITO_SEAL_CA_CERT_FILE is not set).")
    return context.seal_ca


def urls(context: IssuerContext) -> tuple[str, str]:
    """(CRL URL, OCSP responder URL) that the CA's certificates name."""
    base = f"{context.public_url.rstrip('/')}/seal-ca"
    return f"{base}/crl", f"{base}/ocsp"


def certify(
    session: Session, context: IssuerContext, institution: Institution, key: PublicKey
) -> pyca_x509.Certificate:
    """Certify ``key`` as the institution's seal (ETSI EN 319 412-3), record the certificate and
    install the chain. The caller commits."""
    ca_cert, ca_key = configured(context)
    assert institution.id is not None
    profile = institution.profile
    crl_url, ocsp_url = urls(context)
    now = context.clock()
    certificate = x509.make_seal_certificate(
        ca_cert,
        ca_key,
        key,
        organisation=text_in(profile["legal_name"], profile.get("language", "en")) or "",
        country=profile["country"],
        organisation_identifier=profile.get("legal_identifier"),
        now=now,
        days=SEAL_DAYS,
        crl_url=crl_url,
        ocsp_url=ocsp_url,
    )
    session.add(
        SealCertificate(
            issuer_id=institution.id,
            serial=f"{certificate.serial_number:x}",
            issued_at=now,
            not_after=certificate.not_valid_after_utc,
        )
    )
    institution.seal_chain_pem = x509.dump_pem([certificate, ca_cert]).decode()
    session.add(institution)
    return certificate


def installed(institution: Institution) -> pyca_x509.Certificate | None:
    """The leaf of the institution's installed seal chain, if one is installed."""
    if not institution.seal_chain_pem:
        return None
    return x509.load_pem_chain(institution.seal_chain_pem.encode())[0]


def issued_by_ca(context: IssuerContext, certificate: pyca_x509.Certificate) -> bool:
    """Whether the configured CA signed ``certificate`` (also one from before it kept records)."""
    ca_cert, _ = configured(context)
    try:
        certificate.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def revoke(
    session: Session,
    context: IssuerContext,
    institution: Institution,
    serial: str | None,
    reason: str,
) -> SealCertificate:
    """Revoke one of the CA's certificates for the institution (the installed one when ``serial``
    is None) for ``reason``, an RFC 5280 §5.3.1 CRLReason name; the caller commits. Revoking a
    revoked certificate changes nothing (its first date and reason stand). A revoked installed
    certificate is uninstalled: nothing is sealed with it again until the key rotates (and the
    CA certifies the new one) or another chain is installed."""
    configured(context)
    leaf = installed(institution)
    installed_serial = f"{leaf.serial_number:x}" if leaf is not None else None
    if serial is None:
        if installed_serial is None:
            raise NotFound("The institution has no seal certificate installed.")
        serial = installed_serial
    serial = serial.lower().lstrip("0")
    row = session.exec(
        select(SealCertificate).where(
            SealCertificate.issuer_id == institution.id,
            SealCertificate.serial == serial,
        )
    ).first()
    if row is None:
        raise NotFound("This CA issued no seal certificate with that serial to the institution.")
    if row.revoked_at is None:
        row.revoked_at, row.reason = context.clock(), pyca_x509.ReasonFlags(reason).value
        session.add(row)
        crl_changed(session, context)
    if serial == installed_serial:
        institution.seal_chain_pem = None
        session.add(institution)
    return row


def certificate_pem(context: IssuerContext) -> bytes:
    return x509.dump_pem(configured(context)[0])


def crl(session: Session, context: IssuerContext) -> bytes:
    """The CA's current CRL (DER): the stored one while it lists every revocation and is younger
    than ``CRL_REISSUE``, else a new one, stored. Each GET does not sign a CRL of its own."""
    ca_cert, _ = configured(context)
    ca = _fingerprint(ca_cert)
    state = session.get(SealCrl, ca) or _create_state(session, ca, context.clock())
    now = context.clock()
    if (
        state.der is not None
        and state.this_update is not None
        and state.published_version == state.version
        and now < aware(state.this_update) + CRL_REISSUE
    ):
        return state.der
    published = _publish(session, context, state, now)
    # None: another request published first; what it stored is as current as this one
    return published if published is not None else _stored(session, ca)


def _fingerprint(ca_cert: pyca_x509.Certificate) -> str:
    return ca_cert.fingerprint(hashes.SHA256()).hex()


def _stored(session: Session, ca: str) -> bytes:
    session.expire_all()
    state = session.get(SealCrl, ca)
    if state is None or state.der is None:
        raise SigningUnavailable("The seal CA's CRL could not be published; try again.")
    return state.der


def _create_state(session: Session, ca: str, now: datetime) -> SealCrl:
    # RFC 5280 §5.2.3: numbers only grow. CRLs before this table were numbered by the microsecond
    # of issue; a new CA's count starts from the clock too, so it continues above them.
    session.add(SealCrl(ca=ca, number=int(now.timestamp() * 1_000_000)))
    try:
        session.commit()
    except IntegrityError:  # another request created it first
        session.rollback()
    state = session.get(SealCrl, ca)
    assert state is not None  # committed, by this request or the other
    return state


def _publish(
    session: Session, context: IssuerContext, state: SealCrl, now: datetime
) -> bytes | None:
    """Sign the next CRL and store it, unless another request published first (then None)."""
    ca_cert, ca_key = configured(context)
    version, number = state.version, state.number + 1
    # read after the version: a revocation committed in between is listed, or moves the version
    rows = session.exec(
        select(SealCertificate)
        .where(col(SealCertificate.revoked_at).is_not(None))
        .where(SealCertificate.not_after > now)
        .order_by(col(SealCertificate.id))
    ).all()
    builder = (
        pyca_x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + CRL_LIFETIME)
        .add_extension(
            pyca_x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key().raw),
            critical=False,
        )
        .add_extension(pyca_x509.CRLNumber(number), critical=False)
    )
    for row in rows:
        assert row.revoked_at is not None
        entry = (
            pyca_x509.RevokedCertificateBuilder()
            .serial_number(int(row.serial, 16))
            .revocation_date(row.revoked_at)
        )
        if row.reason:
            reason = pyca_x509.ReasonFlags(row.reason)
            entry = entry.add_extension(pyca_x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    der = builder.sign(ca_key.raw, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    # Optimistic, as status lists are published: only the request that moves the number from the
    # one it read writes; another that read the same number re-reads what the first stored.
    written = session.execute(
        update(SealCrl)
        .where(col(SealCrl.ca) == state.ca, col(SealCrl.number) == state.number)
        .values(
            number=number,
            published_version=version,
            this_update=now,
            der=der,
        )
    )
    session.commit()
    return der if written.rowcount else None  # type: ignore[attr-defined]


def crl_changed(session: Session, context: IssuerContext) -> None:
    """A revocation: the stored CRL no longer lists every revoked certificate (the caller's
    transaction, so the revocation and the move of the version commit together)."""
    ca_cert, _ = configured(context)
    session.execute(
        update(SealCrl)
        .where(col(SealCrl.ca) == _fingerprint(ca_cert))
        .values(version=SealCrl.version + 1)
    )


def ocsp_request_from_path(encoded: str) -> bytes | None:
    """The DER request of a GET URL's last segment (RFC 6960 Appendix A.1), or None."""
    try:
        return base64.b64decode(unquote(encoded), validate=True)
    except (binascii.Error, ValueError):
        return None


def ocsp_response(session: Session, context: IssuerContext, request_der: bytes | None) -> bytes:
    """The signed OCSP response to ``request_der`` (RFC 6960 §2.2-§2.3). A malformed request is
    answered ``malformedRequest``; a CertID of another issuer ``unauthorized`` (RFC 5019 §2.2.3);
    a serial this CA never issued ``unknown``."""
    ca_cert, ca_key = configured(context)
    try:
        if not request_der or len(request_der) > MAX_OCSP_REQUEST_BYTES:
            raise ValueError("no request")
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
        asked = (request.issuer_name_hash, request.issuer_key_hash)
        serial = request.serial_number
    except (ValueError, TypeError, NotImplementedError):  # also more than one request (pyca)
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    ours = ocsp.OCSPRequestBuilder().add_certificate(ca_cert, ca_cert, algorithm).build()
    if asked != (ours.issuer_name_hash, ours.issuer_key_hash):
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    row = session.exec(
        select(SealCertificate).where(SealCertificate.serial == f"{serial:x}")
    ).first()
    now = context.clock()
    status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    if row is not None and row.revoked_at is None:
        status = ocsp.OCSPCertStatus.GOOD
    elif row is not None:
        status, revoked_at = ocsp.OCSPCertStatus.REVOKED, row.revoked_at
        reason = pyca_x509.ReasonFlags(row.reason) if row.reason else None
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=asked[0],
            issuer_key_hash=asked[1],
            serial_number=serial,
            algorithm=algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + OCSP_LIFETIME,
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca_cert)
        .sign(ca_key.raw, hashes.SHA256())
    )
    return response.public_bytes(serialization.Encoding.DER)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    response = ocsp.OCSPResponseBuilder.build_unsuccessful(status)
    return response.public_bytes(serialization.Encoding.DER)
