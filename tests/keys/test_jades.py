"""keys.jades: JAdES baseline-B seals — ours (round trip, jwcrypto, tampering) and Europass's."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import common as jwcrypto_common
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from keys import base64url, jwk
from keys.errors import InvalidSignature
from keys.jades import (
    JadesError,
    SealCertificateMismatch,
    issuer_serial_kid,
    parse_sig_t,
    read_seal,
    read_seal_json,
    seal,
    verify_seal,
    verify_seal_json,
    verify_signature,
)
from keys.jose import CritUnsupported, JoseError
from keys.signing import KeySigner
from keys.x509 import (
    CertificateChainError,
    CertificateExpired,
    CertificateNotYetValid,
    load_der,
    make_ca,
    make_seal_certificate,
    validate_chain,
)
from schemas.errors import TaitoError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
PAYLOAD = b'{"type":["VerifiableCredential","EuropeanDigitalCredential"]}'


@pytest.fixture(scope="module")
def ca_key() -> jwk.PrivateKey:
    return jwk.generate("p256")


@pytest.fixture(scope="module")
def ca(ca_key: jwk.PrivateKey) -> x509.Certificate:
    return make_ca("Taito Seal CA", ca_key, now=NOW, days=3650)


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


@pytest.fixture(scope="module")
def token(seal_key: jwk.PrivateKey, leaf: x509.Certificate, ca: x509.Certificate) -> str:
    return seal(
        PAYLOAD, signer=KeySigner.for_key(seal_key), chain=[leaf, ca], signing_time=SIGNED_AT
    )


def _header(token: str) -> dict[str, Any]:
    return json.loads(base64url.decode(token.split(".")[0]))


def _with_header(token: str, header: dict[str, Any]) -> str:
    _, payload, signature = token.split(".")
    encoded = base64url.encode(json.dumps(header, separators=(",", ":")).encode())
    return f"{encoded}.{payload}.{signature}"


def test_header(token: str, leaf: x509.Certificate, ca: x509.Certificate) -> None:
    header = _header(token)
    der = leaf.public_bytes(serialization.Encoding.DER)
    assert header["alg"] == "ES256"
    assert header["typ"] == "jose"
    assert "cty" not in header
    assert header["x5c"] == [
        base64.b64encode(der).decode(),
        base64.b64encode(ca.public_bytes(serialization.Encoding.DER)).decode(),
    ]
    assert (
        header["x5t#S256"]
        == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    )
    assert header["sigT"] == "2026-02-03T04:05:06Z"
    assert header["crit"] == ["sigT"]
    assert header["kid"] == issuer_serial_kid(leaf)


def test_round_trip(token: str, leaf: x509.Certificate, ca: x509.Certificate) -> None:
    info = verify_seal(token, anchors=[ca], now=SIGNED_AT + timedelta(days=1))
    assert info.payload == PAYLOAD
    assert info.signing_time == SIGNED_AT.replace(microsecond=0)
    assert info.chain == [leaf, ca]
    assert info.subject == leaf.subject
    assert info.organisation == "Esimerkkiyliopisto"
    assert info.organisation_identifier == "NTRFI-1234567-8"
    assert info.country == "FI"


def test_content_type_is_carried(
    seal_key: jwk.PrivateKey, leaf: x509.Certificate, ca: x509.Certificate
) -> None:
    token = seal(
        PAYLOAD,
        signer=KeySigner.for_key(seal_key),
        chain=[leaf],
        signing_time=SIGNED_AT,
        content_type="octet-stream",
    )
    assert _header(token)["cty"] == "octet-stream"
    assert verify_seal(token, anchors=[ca], now=SIGNED_AT).chain == [leaf, ca]


def test_independent_jose_library_verifies(token: str, ca: x509.Certificate) -> None:
    """jwcrypto, told that sigT is understood, verifies with the key of x5c[0]."""
    header = _header(token)
    leaf = load_der(base64.b64decode(header["x5c"][0]))
    pem = leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = jwcrypto_jwk.JWK.from_pem(pem)
    registry = {
        "sigT": jwcrypto_common.JWSEHeaderParameter("Claimed signing time", True, True, None)
    }
    verifier = jwcrypto_jws.JWS(header_registry=registry)
    verifier.deserialize(token)
    verifier.verify(key, alg="ES256")
    assert verifier.payload == PAYLOAD
    # Without knowing sigT, jwcrypto must refuse the critical header, as RFC 7515 §4.1.11 says.
    strict = jwcrypto_jws.JWS()
    strict.deserialize(token)
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        strict.verify(key, alg="ES256")
    # And the chain in x5c validates to our CA.
    chain = [load_der(base64.b64decode(c)) for c in header["x5c"]]
    assert validate_chain(chain, [ca], now=SIGNED_AT)[-1] == ca


def test_rsa_seal(ca: x509.Certificate, ca_key: jwk.PrivateKey) -> None:
    key = jwk.generate("rsa")
    cert = make_seal_certificate(
        ca,
        ca_key,
        key.public_key(),
        organisation="RSA Oy",
        country="FI",
        organisation_identifier=None,
        now=NOW,
        days=30,
    )
    token = seal(PAYLOAD, signer=KeySigner.for_key(key), chain=[cert], signing_time=NOW)
    assert _header(token)["alg"] == "RS256"
    assert verify_seal(token, anchors=[ca], now=NOW).payload == PAYLOAD
    with pytest.raises(JoseError):
        verify_seal(token, anchors=[ca], now=NOW, algorithms=("ES256",))


def test_tampered_payload(token: str, ca: x509.Certificate) -> None:
    header, _, signature = token.split(".")
    forged = f"{header}.{base64url.encode(PAYLOAD.replace(b'European', b'Fake'))}.{signature}"
    with pytest.raises(InvalidSignature):
        verify_seal(forged, anchors=[ca], now=SIGNED_AT)


def test_tampered_signing_time(token: str, ca: x509.Certificate) -> None:
    header = _header(token)
    header["sigT"] = "2026-02-01T00:00:00Z"
    with pytest.raises(InvalidSignature):
        verify_seal(_with_header(token, header), anchors=[ca], now=SIGNED_AT)


def test_sig_t_must_be_critical(token: str, ca: x509.Certificate) -> None:
    header = _header(token)
    del header["crit"]
    with pytest.raises(JadesError):
        verify_seal(_with_header(token, header), anchors=[ca], now=SIGNED_AT)


def test_unknown_critical_header(token: str, ca: x509.Certificate) -> None:
    header = _header(token)
    header["crit"] = ["sigT", "sigPl"]
    header["sigPl"] = {}
    with pytest.raises(CritUnsupported):
        verify_seal(_with_header(token, header), anchors=[ca], now=SIGNED_AT)


def test_swapped_certificate(token: str, ca: x509.Certificate, ca_key: jwk.PrivateKey) -> None:
    other = make_seal_certificate(
        ca,
        ca_key,
        jwk.generate("p256").public_key(),
        organisation="Other",
        country="FI",
        organisation_identifier=None,
        now=NOW,
        days=30,
    )
    header = _header(token)
    header["x5c"] = [base64.b64encode(other.public_bytes(serialization.Encoding.DER)).decode()]
    with pytest.raises(SealCertificateMismatch):
        verify_seal(_with_header(token, header), anchors=[ca], now=SIGNED_AT)
    # ... and with a matching thumbprint, the signature no longer fits the key.
    header["x5t#S256"] = base64url.encode(
        hashlib.sha256(other.public_bytes(serialization.Encoding.DER)).digest()
    )
    with pytest.raises(InvalidSignature):
        verify_seal(_with_header(token, header), anchors=[ca], now=SIGNED_AT)


def test_missing_certificate_headers(token: str, ca: x509.Certificate) -> None:
    for name in ("x5c", "x5t#S256", "sigT"):
        header = _header(token)
        del header[name]
        if name == "sigT":
            header.pop("crit")
        with pytest.raises(JadesError):
            verify_seal(_with_header(token, header), anchors=[ca], now=SIGNED_AT)


def test_chain_from_another_ca(token: str) -> None:
    other = make_ca("Another CA", jwk.generate("p256"), now=NOW, days=3650)
    with pytest.raises(CertificateChainError) as info:
        verify_seal(token, anchors=[other], now=SIGNED_AT)
    assert info.value.code == "certificate_chain"


def test_expired_leaf(token: str, ca: x509.Certificate) -> None:
    with pytest.raises(CertificateExpired) as info:
        verify_seal(token, anchors=[ca], now=NOW + timedelta(days=400))
    assert info.value.code == "certificate_expired"


def test_signing_time_in_the_future(token: str, ca: x509.Certificate) -> None:
    with pytest.raises(JadesError):
        verify_seal(token, anchors=[ca], now=SIGNED_AT - timedelta(days=1))


def test_signing_time_outside_certificate(
    seal_key: jwk.PrivateKey, leaf: x509.Certificate, ca: x509.Certificate
) -> None:
    # Claimed before the certificate existed: backdating is refused even though 'now' is fine.
    early = seal(
        PAYLOAD,
        signer=KeySigner.for_key(seal_key),
        chain=[leaf],
        signing_time=NOW - timedelta(days=1),
    )
    with pytest.raises(CertificateNotYetValid):
        verify_seal(early, anchors=[ca], now=NOW + timedelta(days=10))


def test_signer_must_hold_the_certified_key(leaf: x509.Certificate) -> None:
    with pytest.raises(SealCertificateMismatch):
        seal(
            PAYLOAD, signer=KeySigner.for_key(jwk.generate("p256")), chain=[leaf], signing_time=NOW
        )
    with pytest.raises(SealCertificateMismatch):
        seal(
            PAYLOAD,
            signer=KeySigner.for_key(jwk.generate("ed25519")),
            chain=[leaf],
            signing_time=NOW,
        )
    with pytest.raises(JadesError):
        seal(PAYLOAD, signer=KeySigner.for_key(jwk.generate("p256")), chain=[], signing_time=NOW)


@pytest.mark.parametrize(
    "value",
    ["2026-02-03T04:05:06+00:00", "2026-02-03T04:05:06.1Z", 1700000000, "2026-13-03T04:05:06Z"],
)
def test_sig_t_format(value: Any) -> None:
    with pytest.raises(JadesError):
        parse_sig_t(value)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_one_character_change_fails(
    data: st.DataObject, token: str, ca: x509.Certificate
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != token[index]]))
    forged = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(TaitoError):
        verify_seal(forged, anchors=[ca], now=SIGNED_AT)


def test_read_seal_does_not_verify(token: str, leaf: x509.Certificate) -> None:
    decoded = read_seal(token)
    assert decoded.chain[0] == leaf
    assert decoded.serialization == "compact"
    verify_signature(decoded)


# --- The JAdES-sealed Europass examples (EDC, ELM v3) -------------------------------------------

EXAMPLES = ["Sample-CertOfPart-signed.jsonld", "Sample-MC-Annex1-signed.jsonld"]
LTA_CRIT = ("b64", "sigT", "adoTst")  # adoTst is read, its time-stamp token is not validated


def _example(conformance: Path, name: str) -> dict[str, Any]:
    return json.loads((conformance / "elm" / "examples" / "elm-v3" / name).read_text("utf-8"))


def _issuing_ca(document: dict[str, Any], leaf: x509.Certificate) -> x509.Certificate:
    """The seal's issuing CA, from the certificate values in the unsigned 'etsiU' (JAdES-LT)."""
    for entry in document["signatures"][0]["header"]["etsiU"]:
        item = json.loads(base64url.decode(entry))
        for value in item.get("xVals", []):
            cert = load_der(base64.b64decode(value["x509Cert"]["val"]))
            if cert.subject == leaf.issuer:
                return cert
    raise AssertionError("issuing CA not found in etsiU xVals")


@pytest.mark.parametrize("name", EXAMPLES)
def test_europass_example_header(conformance: Path, name: str) -> None:
    decoded = read_seal_json(_example(conformance, name))
    header = decoded.header
    assert decoded.serialization == "json"
    assert header["alg"] == "RS256"
    assert header["typ"] == "jose+json"
    assert header["cty"] == "octet-stream"
    assert header["b64"] is False
    assert header["crit"] == ["b64", "sigT", "adoTst"]
    assert header["sigT"] == decoded.signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert decoded.signing_time.year == 2023
    # kid is the DER IssuerSerial of the signing certificate: our encoding gives the same bytes.
    assert header["kid"] == issuer_serial_kid(decoded.chain[0])
    credential = json.loads(decoded.payload)
    assert "EuropeanDigitalCredential" in credential["type"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_europass_example_signature(conformance: Path, name: str) -> None:
    document = _example(conformance, name)
    decoded = read_seal_json(document)
    verify_signature(decoded, understood_crit=LTA_CRIT)
    with pytest.raises(CritUnsupported):
        verify_signature(decoded)  # adoTst is not understood unless the caller says so
    document["payload"] = document["payload"].replace('"validFrom":"', '"validFrom":"1', 1)
    with pytest.raises(InvalidSignature):
        verify_signature(read_seal_json(document), understood_crit=LTA_CRIT)


@pytest.mark.parametrize("name", EXAMPLES)
def test_europass_example_chain(conformance: Path, name: str) -> None:
    """The test seal certificate expired on 2025-05-10: validation at a later 'now' fails typed;
    at the claimed signing time the chain to its issuing CA validates."""
    document = _example(conformance, name)
    decoded = read_seal_json(document)
    leaf = decoded.chain[0]
    issuing_ca = _issuing_ca(document, leaf)
    assert leaf.not_valid_after_utc == datetime(2025, 5, 10, 14, 31, 15, tzinfo=UTC)
    with pytest.raises(CertificateExpired):
        verify_seal_json(document, anchors=[issuing_ca], now=NOW, understood_crit=LTA_CRIT)
    assert validate_chain(decoded.chain, [issuing_ca], now=decoded.signing_time) == [
        leaf,
        issuing_ca,
    ]
    info = verify_seal_json(
        document, anchors=[issuing_ca], now=decoded.signing_time, understood_crit=LTA_CRIT
    )
    assert info.organisation == "ORGANIZACION TEST"
    assert info.organisation_identifier == "VATES-A00000000"


def test_json_serialization_refusals(conformance: Path) -> None:
    document = _example(conformance, EXAMPLES[1])
    two = {**document, "signatures": document["signatures"] * 2}
    with pytest.raises(JadesError):
        read_seal_json(two)
    with pytest.raises(JoseError):
        read_seal_json("[]")
    unprotected_clash = json.loads(json.dumps(document))
    unprotected_clash["signatures"][0]["header"]["sigT"] = "2020-01-01T00:00:00Z"
    with pytest.raises(JoseError):
        read_seal_json(unprotected_clash)
