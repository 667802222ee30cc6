"""keys.x509: development CA, seal certificates, PEM, chain validation with typed errors."""

from __future__ import annotations

import base64
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from keys import jwk
from keys.x509 import (
    CertificateChainError,
    CertificateError,
    CertificateExpired,
    CertificateNotYetValid,
    dump_pem,
    load_der,
    load_pem_chain,
    make_ca,
    make_seal_certificate,
    public_key_of,
    validate_chain,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca_key() -> jwk.PrivateKey:
    return jwk.generate("p256")


@pytest.fixture(scope="module")
def ca(ca_key: jwk.PrivateKey) -> x509.Certificate:
    return make_ca("Taito Test CA", ca_key, now=NOW, days=3650)


@pytest.fixture(scope="module")
def seal_key() -> jwk.PrivateKey:
    return jwk.generate("p256")


@pytest.fixture(scope="module")
def leaf(
    ca: x509.Certificate, ca_key: jwk.PrivateKey, seal_key: jwk.PrivateKey
) -> x509.Certificate:
    return make_seal_certificate(
        ca,
        ca_key,
        seal_key.public_key(),
        organisation="Esimerkkiyliopisto",
        country="FI",
        organisation_identifier="NTRFI-1234567-8",
        now=NOW,
        days=365,
    )


def test_ca_is_a_self_signed_ca(ca: x509.Certificate) -> None:
    assert ca.subject == ca.issuer
    ca.verify_directly_issued_by(ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature


def test_seal_certificate_subject_and_key_usage(
    leaf: x509.Certificate, ca: x509.Certificate, seal_key: jwk.PrivateKey
) -> None:
    leaf.verify_directly_issued_by(ca)
    subject = leaf.subject
    assert (
        subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Esimerkkiyliopisto"
    )
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "FI"
    org_id = subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))
    assert org_id[0].value == "NTRFI-1234567-8"
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert public_key_of(leaf) == seal_key.public_key()
    assert leaf.not_valid_before_utc == NOW.replace(microsecond=0)


def test_organisation_identifier_is_optional(ca: x509.Certificate, ca_key: jwk.PrivateKey) -> None:
    cert = make_seal_certificate(
        ca,
        ca_key,
        jwk.generate("p256").public_key(),
        organisation="X Oy",
        country="fi",
        organisation_identifier=None,
        now=NOW,
        days=30,
    )
    assert not cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "FI"


def test_chain_validates_to_anchor(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    assert validate_chain([leaf], [ca], now=NOW + timedelta(days=10)) == [leaf, ca]


def test_rsa_chain_validates() -> None:
    key = jwk.generate("rsa")
    root = make_ca("RSA CA", key, now=NOW, days=100)
    cert = make_seal_certificate(
        root,
        key,
        jwk.generate("rsa").public_key(),
        organisation="R",
        country="SE",
        organisation_identifier="VATSE-1",
        now=NOW,
        days=50,
    )
    assert validate_chain([cert], [root], now=NOW + timedelta(days=1)) == [cert, root]


def test_expired_leaf(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    with pytest.raises(CertificateExpired) as info:
        validate_chain([leaf], [ca], now=NOW + timedelta(days=366))
    assert info.value.code == "certificate_expired"
    assert isinstance(info.value, CertificateChainError)


def test_not_yet_valid_leaf(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    with pytest.raises(CertificateNotYetValid) as info:
        validate_chain([leaf], [ca], now=NOW - timedelta(days=1))
    assert info.value.code == "certificate_not_yet_valid"


def test_expired_anchor(ca_key: jwk.PrivateKey) -> None:
    # Same CA name and key, two certificates: the leaf comes from the long one, the caller
    # trusts only the short one, which has expired while the leaf is still valid.
    long_lived = make_ca("Renewed CA", ca_key, now=NOW, days=100)
    short_lived = make_ca("Renewed CA", ca_key, now=NOW, days=10)
    cert = make_seal_certificate(
        long_lived,
        ca_key,
        jwk.generate("p256").public_key(),
        organisation="O",
        country="FI",
        organisation_identifier=None,
        now=NOW,
        days=50,
    )
    assert validate_chain([cert], [short_lived], now=NOW + timedelta(days=5))[-1] == short_lived
    with pytest.raises(CertificateExpired) as info:
        validate_chain([cert], [short_lived], now=NOW + timedelta(days=20))
    assert "trust anchor" in info.value.detail


def test_other_ca_is_not_an_anchor(leaf: x509.Certificate) -> None:
    other = make_ca("Other CA", jwk.generate("p256"), now=NOW, days=3650)
    with pytest.raises(CertificateChainError) as info:
        validate_chain([leaf], [other], now=NOW + timedelta(days=1))
    assert info.value.code == "certificate_chain"


def test_same_name_other_key_fails_signature(leaf: x509.Certificate) -> None:
    impostor = make_ca("Taito Test CA", jwk.generate("p256"), now=NOW, days=3650)
    with pytest.raises(CertificateChainError) as info:
        validate_chain([leaf], [impostor], now=NOW + timedelta(days=1))
    assert info.value.code == "certificate_chain"


def test_end_entity_cannot_issue(
    leaf: x509.Certificate, seal_key: jwk.PrivateKey, ca: x509.Certificate
) -> None:
    # A certificate "issued" by the seal certificate: basicConstraints cA=FALSE must stop it.
    child = make_seal_certificate(
        leaf,
        seal_key,
        jwk.generate("p256").public_key(),
        organisation="Child",
        country="FI",
        organisation_identifier=None,
        now=NOW,
        days=30,
    )
    child.verify_directly_issued_by(leaf)  # the signature itself is fine
    with pytest.raises(CertificateChainError):
        validate_chain([child, leaf], [ca], now=NOW + timedelta(days=1))


def test_empty_inputs(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    with pytest.raises(CertificateChainError):
        validate_chain([], [ca], now=NOW)
    with pytest.raises(CertificateChainError):
        validate_chain([leaf], [], now=NOW)
    with pytest.raises(CertificateError):
        validate_chain([leaf], [ca], now=datetime(2026, 1, 2))  # naive


def test_pem_round_trip(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    pem = dump_pem([leaf, ca])
    assert pem.count(b"-----BEGIN CERTIFICATE-----") == 2
    assert load_pem_chain(pem) == [leaf, ca]
    assert load_pem_chain(dump_pem(leaf)) == [leaf]


@pytest.mark.parametrize(
    "data", [b"", b"not pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_bad_pem(data: bytes) -> None:
    with pytest.raises(CertificateError) as info:
        load_pem_chain(data)
    assert info.value.code == "invalid_certificate"


def test_a_certificate_with_an_unknown_version_is_a_typed_error(ca: x509.Certificate) -> None:
    # found by hypothesis (a one-character change to an x5c): version INTEGER 2 (v3) -> 0x42
    der = ca.public_bytes(serialization.Encoding.DER)
    assert der.count(b"\xa0\x03\x02\x01\x02") == 1
    bad = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x42")
    with pytest.raises(CertificateError):
        load_der(bad)
    pem = b"".join(
        [b"-----BEGIN CERTIFICATE-----\n", base64.encodebytes(bad), b"-----END CERTIFICATE-----\n"]
    )
    with pytest.raises(CertificateError):
        load_pem_chain(pem)


@pytest.mark.parametrize("first_byte", [0x81, 0xFF])
@pytest.mark.parametrize("warnings_are_errors", [True, False])
def test_a_certificate_whose_serial_is_not_positive_is_a_typed_error(
    ca_key: jwk.PrivateKey, first_byte: int, warnings_are_errors: bool
) -> None:
    # found by hypothesis (a one-character change to an x5c): a serial with its top bit set
    serial = 0x5A << 152  # 20 bytes in DER, top bit clear
    ca = make_ca("Taito Test CA", ca_key, now=NOW, days=1, serial=serial)
    der = ca.public_bytes(serialization.Encoding.DER)
    field = b"\x02\x14" + serial.to_bytes(20, "big")  # INTEGER, 20 bytes
    assert der.count(field) == 1
    negative = b"\x02\x14" + bytes([first_byte]) + b"\x00" * 19  # minimal DER: -2**159 + ...
    bad = der.replace(field, negative)
    pem = b"".join(
        [b"-----BEGIN CERTIFICATE-----\n", base64.encodebytes(bad), b"-----END CERTIFICATE-----\n"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error" if warnings_are_errors else "ignore")
        for load in (load_der, load_pem_chain):
            with pytest.raises(CertificateError, match="serial number is not positive"):
                load(bad if load is load_der else pem)


def test_ed25519_keys_are_refused(ca: x509.Certificate, ca_key: jwk.PrivateKey) -> None:
    with pytest.raises(CertificateError):
        make_ca("Ed CA", jwk.generate("ed25519"), now=NOW, days=10)
    with pytest.raises(CertificateError):
        make_seal_certificate(
            ca,
            ca_key,
            jwk.generate("ed25519").public_key(),
            organisation="O",
            country="FI",
            organisation_identifier=None,
            now=NOW,
            days=10,
        )


def test_wrong_ca_key_is_refused(ca: x509.Certificate) -> None:
    with pytest.raises(CertificateError):
        make_seal_certificate(
            ca,
            jwk.generate("p256"),
            jwk.generate("p256").public_key(),
            organisation="O",
            country="FI",
            organisation_identifier=None,
            now=NOW,
            days=10,
        )


@pytest.mark.parametrize("country", ["FIN", "", "1A"])
def test_bad_country(ca: x509.Certificate, ca_key: jwk.PrivateKey, country: str) -> None:
    with pytest.raises(CertificateError):
        make_seal_certificate(
            ca,
            ca_key,
            jwk.generate("p256").public_key(),
            organisation="O",
            country=country,
            organisation_identifier=None,
            now=NOW,
            days=10,
        )
