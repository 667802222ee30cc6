"""JWT attacks (RFC 8725 §2-§3): each forged token is refused with a named check and code.

Verification goes through ``verify_credential`` with the verifier exactly as the app builds it
(``VerifierContext``: online DID resolver behind the guarded HTTP client), so a header that tries
to make the verifier fetch something is caught by ``network.requests`` staying empty.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from bench.inputs import open_badge
from keys import base64url, jose, jwk, vc_jwt
from keys.signing import KeySigner
from tests.security.conftest import (
    NOW,
    Network,
    checks,
    compact,
    did_of,
    options,
    resign,
    signer,
    signing_input,
)
from verifier.context import VerifierContext
from verifier.credential import verify_credential


def _ob3_jwt(issuer: KeySigner, **overrides: Any) -> str:
    credential = {**open_badge(did_of(issuer)), **overrides}
    return vc_jwt.sign_credential_jwt(credential, signer=issuer, profile="ob3", now=NOW)


def _parts(token: str) -> tuple[dict[str, Any], bytes]:
    decoded = jose.decode_unverified(token)
    return decoded.header, decoded.payload


def test_genuine_token_verifies(verifier: VerifierContext) -> None:
    """The baseline every attack below starts from: the untouched token passes."""
    report = verify_credential(_ob3_jwt(signer()), options(verifier))
    assert report.verified, report.to_json()


def test_alg_none_is_refused(verifier: VerifierContext) -> None:
    header, payload = _parts(_ob3_jwt(signer()))
    token = compact({**header, "alg": "none"}, payload, b"")
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "alg_not_allowed")


def test_alg_none_cannot_be_allowed_by_a_careless_caller() -> None:
    header, payload = _parts(_ob3_jwt(issuer := signer()))
    token = compact({**header, "alg": "none"}, payload, b"")
    with pytest.raises(jose.AlgorithmNotAllowed) as caught:
        jose.verify_compact(
            token, algorithms=["none", "EdDSA"], resolve_key=lambda _h: issuer.key.public_key()
        )
    assert caught.value.code == "alg_not_allowed"


def test_hs256_signed_with_the_issuer_public_key_is_refused(verifier: VerifierContext) -> None:
    """Algorithm confusion: the public key (PEM, as a naive library would read it) as HMAC secret."""
    issuer = signer("p256")
    header, payload = _parts(_ob3_jwt(issuer))
    pem = issuer.key.public_key().raw.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = compact({**header, "alg": "HS256"}, payload, b"")
    mac = hmac.new(pem, signing_input(unsigned), hashlib.sha256).digest()
    token = unsigned + base64url.encode(mac)
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "alg_not_allowed")


def test_es256_token_relabelled_rs256_is_refused(verifier: VerifierContext) -> None:
    """RS/ES swap: the header claims RS256 for a P-256 issuer key."""
    issuer = signer("p256")
    header, payload = _parts(_ob3_jwt(issuer))
    token = resign({**header, "alg": "RS256"}, payload, issuer)
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "alg_key_mismatch")


def test_rs256_token_relabelled_es256_is_refused(verifier: VerifierContext) -> None:
    issuer = signer("rsa")
    header, payload = _parts(_ob3_jwt(issuer))
    token = resign({**header, "alg": "ES256"}, payload, issuer)
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "alg_key_mismatch")


@pytest.mark.parametrize(
    "kid",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "file:///etc/passwd",
        "x' OR '1'='1",
        "https://a.example/k",
    ],
)
def test_kid_path_traversal_and_injection_are_refused(
    verifier: VerifierContext, network: Network, kid: str
) -> None:
    header, payload = _parts(_ob3_jwt(issuer := signer()))
    token = resign({**header, "kid": kid}, payload, issuer)
    report = verify_credential(token, options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "did_resolution")
    assert network.requests == []


def test_kid_naming_a_did_web_elsewhere_is_refused(
    verifier: VerifierContext, network: Network
) -> None:
    """A did:key issuer's token whose kid points at an attacker's did:web: never fetched."""
    attacker = KeySigner(jwk.generate("ed25519"), "did:web:attacker.example#key-1")
    header, payload = _parts(_ob3_jwt(signer()))
    token = resign({**header, "kid": attacker.key_id}, payload, attacker)
    report = verify_credential(token, options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "did_resolution")
    assert network.requests == []


def test_embedded_jwk_of_the_attacker_is_not_trusted(
    verifier: VerifierContext, network: Network
) -> None:
    """RFC 8725 §3.10 spirit: a ``jwk`` header is not a key source; the issuer's DID is."""
    real, attacker = signer(), signer()
    header, payload = _parts(_ob3_jwt(real))
    forged = {k: v for k, v in header.items() if k != "kid"}
    forged["jwk"] = attacker.key.public_key().to_jwk()
    token = resign(forged, payload, attacker)
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "invalid_signature")
    assert network.requests == []


def test_embedded_jwk_of_the_attacker_is_not_trusted_offline() -> None:
    """The offline resolver (``taito verify``) refuses a jwk header that is not the issuer's key."""
    real, attacker = signer(), signer()
    header, payload = _parts(_ob3_jwt(real))
    forged = {**header, "jwk": attacker.key.public_key().to_jwk()}
    forged.pop("kid")
    with pytest.raises(vc_jwt.UntrustedJwtKey) as caught:
        vc_jwt.resolve_offline_jwt_key(forged, json.loads(payload))
    assert caught.value.code == "jwt_key_untrusted"


@pytest.mark.parametrize("name", ["jku", "x5u"])
def test_jku_and_x5u_are_never_fetched(
    verifier: VerifierContext, network: Network, name: str
) -> None:
    real, attacker = signer(), signer()
    url = "https://attacker.example/keys.json"
    network.serve(url, json.dumps({"keys": [attacker.key.public_key().to_jwk()]}).encode())
    header, payload = _parts(_ob3_jwt(real))
    forged = {k: v for k, v in header.items() if k != "kid"}
    token = resign({**forged, name: url}, payload, attacker)
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "invalid_signature")
    assert network.requests == []


def test_expired_jwt_credential_is_refused(verifier: VerifierContext) -> None:
    token = _ob3_jwt(signer(), validUntil="2026-11-01T00:00:00Z")
    report = verify_credential(token, options(verifier))
    assert checks(report)["validity_period"] == ("failed", "jwt_expired")


def test_not_yet_valid_jwt_credential_is_refused(verifier: VerifierContext) -> None:
    later = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = verify_credential(_ob3_jwt(signer(), validFrom=later), options(verifier))
    assert checks(report)["validity_period"] == ("failed", "jwt_not_yet_valid")


def test_jwt_naming_issuer_a_signed_by_b_is_refused(verifier: VerifierContext) -> None:
    """Issuer/key mismatch: iss is A's DID, the kid and signature are B's."""
    a, b = signer(), signer()
    credential = open_badge(did_of(a))
    payload = json.dumps({**credential, "iss": did_of(a), "nbf": int(NOW.timestamp())}).encode()
    token = resign({"alg": "EdDSA", "typ": "JWT", "kid": b.key_id}, payload, b)
    report = verify_credential(token, options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "did_resolution")


def test_a_one_character_change_of_the_payload_is_refused(verifier: VerifierContext) -> None:
    header, payload = _parts(token := _ob3_jwt(signer()))
    forged = payload.replace(b"Introduction", b"Introductiom")
    tampered = compact(header, forged, jose.decode_unverified(token).signature)
    report = verify_credential(tampered, options(verifier))
    assert checks(report)["proof"] == ("failed", "invalid_signature")
