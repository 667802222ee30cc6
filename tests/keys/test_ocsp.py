"""keys.ocsp: where a certificate's responder is, the GET request, and what an OCSP response may be
believed about (RFC 6960 §3.2, §4.2.2.2). Responses are built with pyca's builder, so each case
can break one rule."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as pyca_ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from keys import jwk, ocsp
from keys.crl import CertificateRevoked, RevocationUnknown
from keys.x509 import Certificate, CertificateError, make_ca
from tests.keys.test_crl import seal_certificate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OCSP_URL = "http://ocsp.ca.example/seal"
CA_KEY = jwk.generate("p256")
CA = make_ca("Taito Test CA", CA_KEY, now=NOW - timedelta(days=30), days=3650)
LEAF_KEY = jwk.generate("p256")
GOOD, REVOKED, UNKNOWN = (
    pyca_ocsp.OCSPCertStatus.GOOD,
    pyca_ocsp.OCSPCertStatus.REVOKED,
    pyca_ocsp.OCSPCertStatus.UNKNOWN,
)


def _leaf(serial: int = 4242, ocsp_url: str | None = OCSP_URL) -> Certificate:
    return seal_certificate(ca=CA, ca_key=CA_KEY, key=LEAF_KEY, serial=serial, ocsp_url=ocsp_url)


LEAF = _leaf()


def responder_certificate(
    *,
    issuer: Certificate = CA,
    issuer_key: jwk.PrivateKey = CA_KEY,
    key: jwk.PrivateKey,
    ocsp_signing: bool = True,
    not_after: datetime = NOW + timedelta(days=30),
    nocheck: bool = True,
) -> Certificate:
    """A delegated responder's certificate (RFC 6960 §4.2.2.2: id-kp-OCSPSigning, ocsp-nocheck)."""
    usage = ExtendedKeyUsageOID.OCSP_SIGNING if ocsp_signing else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Taito Test OCSP")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key().raw)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return builder.sign(issuer_key.raw, hashes.SHA256())


def build_response(
    *,
    certificate: Certificate = LEAF,
    status: pyca_ocsp.OCSPCertStatus = GOOD,
    signer: Certificate = CA,
    signer_key: jwk.PrivateKey = CA_KEY,
    by_key: bool = False,
    carried: tuple[Certificate, ...] = (),
    this_update: datetime = NOW - timedelta(minutes=10),
    next_update: datetime | None = NOW + timedelta(days=1),
    cert_id_hash: hashes.HashAlgorithm | None = None,
    reason: x509.ReasonFlags | None = None,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> bytes:
    """A signed OCSP response (DER) for ``certificate`` under ``CA``."""
    builder = pyca_ocsp.OCSPResponseBuilder().add_response(
        cert=certificate,
        issuer=CA,
        algorithm=cert_id_hash or hashes.SHA1(),
        cert_status=status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=NOW - timedelta(days=2) if status == REVOKED else None,
        revocation_reason=reason if status == REVOKED else None,
    )
    encoding = (
        pyca_ocsp.OCSPResponderEncoding.HASH if by_key else pyca_ocsp.OCSPResponderEncoding.NAME
    )
    builder = builder.responder_id(encoding, signer)
    if carried:
        builder = builder.certificates(list(carried))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    response = builder.sign(signer_key.raw, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def check(data: bytes, certificate: Certificate = LEAF, **kwargs: object) -> ocsp.Good:
    return ocsp.check_response(data, certificate, CA, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_responders_are_read_from_authority_information_access() -> None:
    assert ocsp.responders(LEAF) == [OCSP_URL]
    assert ocsp.responders(_leaf(ocsp_url=None)) == []
    assert ocsp.responders(_leaf(ocsp_url="ldap://ocsp.ca.example")) == []


def test_the_request_url_carries_a_sha1_cert_id_for_the_certificate() -> None:
    # RFC 6960 Appendix A.1: {url}/{url-encoding of base-64 of the DER OCSPRequest}
    for responder in (OCSP_URL, OCSP_URL + "/"):
        url = ocsp.request_url(responder, LEAF, CA)
        prefix, _, encoded = url.rpartition("/")
        assert prefix == OCSP_URL
        assert "+" not in encoded and "/" not in encoded and "=" not in encoded
        request = pyca_ocsp.load_der_ocsp_request(base64.b64decode(unquote(encoded)))
        assert request.serial_number == LEAF.serial_number
        assert isinstance(request.hash_algorithm, hashes.SHA1)
        expected = pyca_ocsp.OCSPRequestBuilder().add_certificate(LEAF, CA, hashes.SHA1())
        assert request.issuer_key_hash == expected.build().issuer_key_hash


@pytest.mark.parametrize("by_key", [False, True])
def test_a_good_answer_signed_by_the_issuer(by_key: bool) -> None:
    good = check(build_response(by_key=by_key))
    assert good == ocsp.Good(NOW - timedelta(minutes=10), NOW + timedelta(days=1))


def test_a_good_answer_signed_by_a_delegated_responder() -> None:
    key = jwk.generate("p256")
    responder = responder_certificate(key=key)
    for by_key in (False, True):
        data = build_response(signer=responder, signer_key=key, carried=(responder,), by_key=by_key)
        assert check(data).next_update == NOW + timedelta(days=1)


@pytest.mark.parametrize(
    "case", ["not_for_ocsp", "other_issuer", "expired", "not_carried", "no_nocheck"]
)
def test_a_delegated_responder_must_be_certified_by_the_issuer_for_ocsp(case: str) -> None:
    key = jwk.generate("p256")
    if case == "other_issuer":
        other_key = jwk.generate("p256")
        other = make_ca("Taito Test CA", other_key, now=NOW - timedelta(days=30), days=3650)
        responder = responder_certificate(issuer=other, issuer_key=other_key, key=key)
    else:
        responder = responder_certificate(
            key=key,
            ocsp_signing=case != "not_for_ocsp",
            not_after=NOW - timedelta(hours=1) if case == "expired" else NOW + timedelta(days=30),
            nocheck=case != "no_nocheck",
        )
    carried = () if case == "not_carried" else (responder,)
    with pytest.raises(RevocationUnknown, match="nocheck" if case == "no_nocheck" else None):
        check(build_response(signer=responder, signer_key=key, carried=carried))


def test_a_response_in_the_issuers_name_with_another_key_is_refused() -> None:
    other_key = jwk.generate("p256")  # a CA of the same name (byName then names the issuer)
    impostor = make_ca("Taito Test CA", other_key, now=NOW - timedelta(days=30), days=3650)
    assert impostor.subject == CA.subject
    with pytest.raises(RevocationUnknown, match="signature does not verify"):
        check(build_response(signer=impostor, signer_key=other_key))


def test_a_revoked_answer_raises_with_date_and_reason() -> None:
    data = build_response(status=REVOKED, reason=x509.ReasonFlags.key_compromise)
    with pytest.raises(CertificateRevoked) as raised:
        check(data)
    assert "keyCompromise" in raised.value.detail and "(OCSP)" in raised.value.detail
    assert raised.value.extra["reason"] == "keyCompromise"
    assert raised.value.extra["revoked_at"] == (NOW - timedelta(days=2)).isoformat()


def test_an_unknown_answer_is_not_good() -> None:
    with pytest.raises(RevocationUnknown, match="does not know"):
        check(build_response(status=UNKNOWN))


def test_an_answer_about_another_certificate_is_not_good() -> None:
    with pytest.raises(RevocationUnknown, match="does not speak of this certificate"):
        check(build_response(certificate=_leaf(serial=4243)))


def test_a_sha256_cert_id_is_read_too() -> None:
    assert check(build_response(cert_id_hash=hashes.SHA256()))


@pytest.mark.parametrize(
    ("this_update", "next_update", "fresh"),
    [
        (NOW - timedelta(days=2), NOW - timedelta(hours=1), False),  # nextUpdate past
        (NOW + timedelta(hours=1), NOW + timedelta(days=1), False),  # dated in the future
        (NOW - timedelta(minutes=10), None, True),  # no nextUpdate, recent
        (NOW - timedelta(hours=3), None, False),  # no nextUpdate, older than max_age
        (NOW - timedelta(days=2), NOW - timedelta(minutes=2), True),  # within the clock skew
    ],
)
def test_an_answer_is_believed_only_while_current(
    this_update: datetime, next_update: datetime | None, fresh: bool
) -> None:
    data = build_response(this_update=this_update, next_update=next_update)
    if fresh:
        assert check(data).this_update == this_update
    else:
        with pytest.raises(RevocationUnknown):
            check(data)


@pytest.mark.parametrize(
    "status",
    [
        pyca_ocsp.OCSPResponseStatus.TRY_LATER,
        pyca_ocsp.OCSPResponseStatus.UNAUTHORIZED,
        pyca_ocsp.OCSPResponseStatus.INTERNAL_ERROR,
    ],
)
def test_an_unsuccessful_response_says_nothing(status: pyca_ocsp.OCSPResponseStatus) -> None:
    data = pyca_ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
    with pytest.raises(RevocationUnknown, match=status.name.lower()):
        check(data)


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x00", b"garbage", b"\x30" * 300_000])
def test_bytes_that_are_no_response_say_nothing(data: bytes) -> None:
    with pytest.raises(RevocationUnknown):
        check(data)


def test_a_critical_extension_it_does_not_process_makes_the_response_unusable() -> None:
    nonce = x509.OCSPNonce(b"0123456789abcdef")
    assert check(build_response(extensions=((nonce, False),)))
    with pytest.raises(RevocationUnknown, match="critical extension"):
        check(build_response(extensions=((nonce, True),)))


def test_a_one_byte_change_yields_good_only_where_the_signed_answer_is_untouched() -> None:
    data = build_response()
    signed = pyca_ocsp.load_der_ocsp_response(data)
    goods = 0
    for index in range(len(data)):
        for flip in (0x01, 0x80):
            changed = data[:index] + bytes([data[index] ^ flip]) + data[index + 1 :]
            try:
                check(changed)
            except (RevocationUnknown, CertificateRevoked):
                continue
            # pyca reads the BIT STRING's unused-bits count leniently: the envelope changed, but
            # the signed bytes and the signature are the responder's, so "good" is still true
            reread = pyca_ocsp.load_der_ocsp_response(changed)
            assert reread.tbs_response_bytes == signed.tbs_response_bytes, (index, flip)
            assert reread.signature == signed.signature, (index, flip)
            goods += 1
    assert goods <= 2


def test_a_malformed_authority_information_access_is_a_certificate_error() -> None:
    bad = x509.UnrecognizedExtension(
        x509.oid.ExtensionOID.AUTHORITY_INFORMATION_ACCESS, b"\x30\x03\x02\x01\x00"
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(LEAF.subject)
        .issuer_name(CA.subject)
        .public_key(LEAF_KEY.public_key().raw)
        .serial_number(77)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(bad, critical=False)
        .sign(CA_KEY.raw, hashes.SHA256())
    )
    with pytest.raises(CertificateError):
        ocsp.responders(leaf)
