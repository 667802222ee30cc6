"""keys.crl: where a certificate's CRL is, and what a CRL may be believed about (RFC 5280 §6.3.3)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID, NameOID

from keys import crl, jwk
from keys.x509 import Certificate, make_ca, make_seal_certificate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CRL_URL = "http://crl.ca.example/seal.crl"
CA_KEY = jwk.generate("p256")
CA = make_ca("Taito Test CA", CA_KEY, now=NOW - timedelta(days=30), days=3650)
LEAF_KEY = jwk.generate("p256")


def seal_certificate(
    *,
    ca: Certificate = CA,
    ca_key: jwk.PrivateKey = CA_KEY,
    key: jwk.PrivateKey = LEAF_KEY,
    serial: int = 4242,
    now: datetime = NOW,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    organisation_identifier: str | None = None,
) -> Certificate:
    """A seal certificate valid from a day before ``now`` for a year; the other test modules of
    revocation build theirs with it too."""
    return make_seal_certificate(
        ca,
        ca_key,
        key.public_key(),
        organisation="Esimerkkiyliopisto",
        country="FI",
        organisation_identifier=organisation_identifier,
        now=now - timedelta(days=1),
        days=365,
        serial=serial,
        crl_url=crl_url,
        ocsp_url=ocsp_url,
    )


def _leaf(serial: int = 4242, crl_url: str | None = CRL_URL) -> Certificate:
    return seal_certificate(serial=serial, crl_url=crl_url)


LEAF = _leaf()


def build_crl(
    *,
    issuer: Certificate = CA,
    key: jwk.PrivateKey = CA_KEY,
    revoked: tuple[tuple[int, x509.ReasonFlags | None], ...] = (),
    this_update: datetime = NOW - timedelta(hours=1),
    next_update: datetime = NOW + timedelta(hours=23),
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    entry_extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    pem: bool = False,
) -> bytes:
    """A signed CRL (DER, or PEM), built with pyca's builder so a case can break one rule; the
    other test modules publish theirs with it too."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(7), critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    for serial, reason in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - timedelta(hours=2))
        )
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        for extension, critical in entry_extensions:
            entry = entry.add_extension(extension, critical=critical)
        builder = builder.add_revoked_certificate(entry.build())
    signed = builder.sign(key.raw, hashes.SHA256())  # type: ignore[arg-type]
    return signed.public_bytes(serialization.Encoding.PEM if pem else serialization.Encoding.DER)


def _status(data: bytes, certificate: Certificate = LEAF, **kwargs: Any) -> None:
    crl.check_listed(crl.verified(data, CA), certificate, now=NOW, **kwargs)


def _unknown(data: bytes, certificate: Certificate = LEAF, **kwargs: Any) -> str:
    with pytest.raises(crl.RevocationUnknown) as info:
        _status(data, certificate, **kwargs)
    assert info.value.code == "certificate_revocation_unknown"
    return info.value.detail


def test_distribution_points_are_the_http_urls_of_whole_crls() -> None:
    assert crl.distribution_points(LEAF) == [CRL_URL]
    assert crl.distribution_points(_leaf(crl_url=None)) == []
    assert crl.distribution_points(CA) == []

    def with_points(*points: x509.DistributionPoint) -> Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "points")]))
            .issuer_name(CA.subject)
            .public_key(LEAF_KEY.public_key().raw)  # type: ignore[arg-type]
            .serial_number(5)
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=1))
            .add_extension(x509.CRLDistributionPoints(list(points)), critical=False)
            .sign(CA_KEY.raw, hashes.SHA256())  # type: ignore[arg-type]
        )

    def uri(value: str) -> x509.UniformResourceIdentifier:
        return x509.UniformResourceIdentifier(value)

    partial = x509.DistributionPoint(
        [uri("http://a.example/r.crl")], None, frozenset({x509.ReasonFlags.key_compromise}), None
    )
    other_issuer = x509.DistributionPoint(
        [uri("http://b.example/i.crl")], None, None, [x509.DirectoryName(CA.subject)]
    )
    whole = x509.DistributionPoint(
        [uri("ldap://c.example/cn=ca"), uri("https://c.example/ca.crl")], None, None, None
    )
    again = x509.DistributionPoint([uri("https://c.example/ca.crl")], None, None, None)
    certificate = with_points(partial, other_issuer, whole, again)
    assert crl.distribution_points(certificate) == ["https://c.example/ca.crl"]


def test_a_certificate_not_on_a_current_crl_is_not_revoked() -> None:
    _status(build_crl(revoked=((9, None),)))
    _status(build_crl(pem=True))  # PEM as well as DER (RFC 5280 §4.2.1.13)


def test_a_certificate_on_its_issuers_crl_is_revoked_with_date_and_reason() -> None:
    data = build_crl(revoked=((4242, x509.ReasonFlags.key_compromise),))
    with pytest.raises(crl.CertificateRevoked) as info:
        _status(data)
    assert info.value.code == "certificate_revoked"
    assert "revoked on 2026-11-28T10:00:00+00:00 (keyCompromise)" in info.value.detail
    assert info.value.extra["reason"] == "keyCompromise"
    with pytest.raises(crl.CertificateRevoked):  # a reason is optional (RFC 5280 §5.3.1)
        _status(build_crl(revoked=((4242, None),)))


def test_a_crl_signed_by_another_key_under_the_same_name_says_nothing() -> None:
    impostor = jwk.generate("p256")
    twin = make_ca("Taito Test CA", impostor, now=NOW - timedelta(days=30), days=3650)
    assert "not signed by" in _unknown(build_crl(issuer=twin, key=impostor, revoked=()))


def test_a_crl_of_another_issuer_says_nothing() -> None:
    other_key = jwk.generate("p256")
    other = make_ca("Another CA", other_key, now=NOW - timedelta(days=30), days=3650)
    data = build_crl(issuer=other, key=other_key)
    with pytest.raises(crl.RevocationUnknown, match="not signed by the certificate's issuer"):
        crl.verified(data, CA)
    with pytest.raises(crl.RevocationUnknown, match="not from the certificate's issuer"):
        crl.check_listed(crl.verified(data, other), LEAF, now=NOW)


@pytest.mark.parametrize(
    ("this_update", "next_update", "expected"),
    [
        (NOW - timedelta(days=2), NOW - timedelta(hours=1), "out of date"),
        (NOW + timedelta(hours=1), NOW + timedelta(days=1), "dated in the future"),
        (NOW - timedelta(days=2), NOW - timedelta(minutes=4), None),  # within the clock skew
        (NOW + timedelta(minutes=4), NOW + timedelta(days=1), None),
    ],
)
def test_only_a_current_crl_is_believed(
    this_update: datetime, next_update: datetime, expected: str | None
) -> None:
    data = build_crl(this_update=this_update, next_update=next_update)
    if expected is None:
        _status(data)
    else:
        assert expected in _unknown(data)


@pytest.mark.parametrize(
    "data", [b"", b"not a crl", b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"]
)
def test_what_is_not_a_crl_says_nothing(data: bytes) -> None:
    with pytest.raises(crl.RevocationUnknown):
        crl.verified(data, CA)


def test_an_oversized_crl_is_not_parsed() -> None:
    with pytest.raises(crl.RevocationUnknown, match="larger than"):
        crl.verified(b"0" * (crl.MAX_CRL_BYTES + 1), CA)


def _idp(**overrides: Any) -> x509.IssuingDistributionPoint:
    values: dict[str, Any] = {
        "full_name": None,
        "relative_name": None,
        "only_contains_user_certs": False,
        "only_contains_ca_certs": False,
        "only_some_reasons": None,
        "indirect_crl": False,
        "only_contains_attribute_certs": False,
    }
    return x509.IssuingDistributionPoint(**{**values, **overrides})


UNKNOWN_EXTENSION = x509.UnrecognizedExtension(
    x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"
)
OTHER_URL = "http://x.example/other.crl"


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        (x509.DeltaCRLIndicator(6), "delta CRL"),
        (UNKNOWN_EXTENSION, "critical extension"),
        (_idp(indirect_crl=True), "indirect"),
        (_idp(only_some_reasons=frozenset({x509.ReasonFlags.key_compromise})), "some reasons"),
        (_idp(only_contains_ca_certs=True), "kind of certificate"),
        (_idp(only_contains_attribute_certs=True), "attribute certificates"),
        (_idp(full_name=[x509.UniformResourceIdentifier(OTHER_URL)]), "another distribution point"),
    ],
)
def test_a_crl_that_does_not_cover_this_certificate_completely_says_nothing(
    extension: x509.ExtensionType, expected: str
) -> None:
    assert expected in _unknown(build_crl(extensions=((extension, True),)))


def test_a_delta_crl_says_nothing_even_when_its_indicator_is_not_marked_critical() -> None:
    assert "delta CRL" in _unknown(build_crl(extensions=((x509.DeltaCRLIndicator(6), False),)))


def test_a_partitioned_crl_that_covers_this_certificate_is_believed() -> None:
    scope = _idp(full_name=[x509.UniformResourceIdentifier(CRL_URL)], only_contains_user_certs=True)
    _status(build_crl(extensions=((scope, True),)))
    # the same CRL does not speak for a CA certificate
    assert "kind of certificate" in _unknown(build_crl(extensions=((scope, True),)), CA)


def test_an_entry_with_a_critical_extension_taito_does_not_process_says_nothing() -> None:
    certificate_issuer = x509.CertificateIssuer([x509.DirectoryName(CA.subject)])
    data = build_crl(revoked=((4242, None),), entry_extensions=((certificate_issuer, True),))
    assert "critical extension" in _unknown(data)


def _ca_without_crl_sign() -> tuple[Certificate, jwk.PrivateKey]:
    key = jwk.generate("p256")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "No CRL Signing CA")])
    usage = x509.KeyUsage(False, False, False, False, False, True, False, False, False)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key().raw)  # type: ignore[arg-type]
        .serial_number(11)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key.raw, hashes.SHA256())  # type: ignore[arg-type]
    )
    return certificate, key


def test_an_issuer_whose_key_usage_excludes_crl_signing_cannot_speak_by_crl() -> None:
    issuer, key = _ca_without_crl_sign()
    with pytest.raises(crl.RevocationUnknown, match="keyUsage"):
        crl.verified(build_crl(issuer=issuer, key=key), issuer)


@pytest.mark.parametrize("call", [crl.check_listed])
def test_now_must_be_aware(call: Callable[..., Any]) -> None:
    listed = crl.verified(build_crl(), CA)
    with pytest.raises(Exception, match="timezone-aware"):
        call(listed, LEAF, now=NOW.replace(tzinfo=None))


BAD_SCOPE = x509.UnrecognizedExtension(ExtensionOID.ISSUING_DISTRIBUTION_POINT, b"\x30\x01")
BAD_REASON = x509.UnrecognizedExtension(CRLEntryExtensionOID.CRL_REASON, b"\xff")


@pytest.mark.parametrize(
    ("extensions", "entry_extensions"),
    [
        (((BAD_SCOPE, True),), ()),
        ((), ((BAD_REASON, False),)),
    ],
)
def test_signed_but_malformed_extensions_say_nothing(
    extensions: tuple[tuple[x509.ExtensionType, bool], ...],
    entry_extensions: tuple[tuple[x509.ExtensionType, bool], ...],
) -> None:
    data = build_crl(
        revoked=((4242, None),), extensions=extensions, entry_extensions=entry_extensions
    )
    with pytest.raises(crl.RevocationUnknown, match="not parse"):
        _status(data)


def test_any_change_to_a_crl_makes_it_unknown_never_a_crash() -> None:
    rnd = random.Random(5)
    data = build_crl(revoked=((4242, x509.ReasonFlags.key_compromise), (9, None)))
    for _ in range(3000):
        changed = bytearray(data)
        for _ in range(rnd.randrange(1, 4)):
            changed[rnd.randrange(len(changed))] = rnd.randrange(256)
        if bytes(changed) == data:
            continue
        with pytest.raises(crl.RevocationUnknown):
            _status(bytes(changed))
