"""Key generation, JWK / Multikey serialisation, thumbprints, DIDs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import base64url, did, jwk, multikey
from keys.errors import DidError, InvalidKey, InvalidMultibase, InvalidSignature, UnsupportedKeyType
from keys.signing import KeySigner

KEYS = {t: jwk.generate(t) for t in jwk.KEY_TYPES}

# RFC 8037 Appendix A.1-A.4 (Ed25519 key, thumbprint, signature of the example JWS).
RFC8037_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}


@pytest.mark.parametrize("key_type", jwk.KEY_TYPES)
def test_private_jwk_round_trip(key_type: jwk.KeyType) -> None:
    key = KEYS[key_type]
    again = jwk.private_key_from_jwk(json.loads(json.dumps(key.to_jwk())))
    assert again.public_key() == key.public_key()
    assert again.to_jwk() == key.to_jwk()


@pytest.mark.parametrize("key_type", jwk.KEY_TYPES)
def test_public_jwk_round_trip_and_sign_verify(key_type: jwk.KeyType) -> None:
    key = KEYS[key_type]
    public = jwk.public_key_from_jwk(key.public_key().to_jwk())
    assert "d" not in public.to_jwk()
    signature = key.sign(b"taito")
    public.verify(signature, b"taito")
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"taitO")


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
def test_multikey_round_trip(key_type: jwk.KeyType) -> None:
    key = KEYS[key_type]
    encoded = multikey.encode_public(key.public_key())
    assert encoded.startswith({"ed25519": "z6Mk", "p256": "zDn"}[key_type])
    assert multikey.decode_public(encoded) == key.public_key()
    secret = multikey.decode_private(multikey.encode_private(key))
    assert secret.public_key() == key.public_key()


def test_rfc8037_vectors() -> None:
    key = jwk.private_key_from_jwk(RFC8037_JWK)
    assert key.public_key().thumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    signing_input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    assert base64url.encode(key.sign(signing_input)) == (
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    )


def test_rfc7638_thumbprint_ignores_member_order_and_private_members() -> None:
    key = KEYS["rsa"]
    shuffled = dict(reversed(list(key.to_jwk().items())))
    assert jwk.public_key_from_jwk(shuffled).thumbprint() == key.public_key().thumbprint()


# did:key Method v0.9, test vectors (Ed25519 from the all-zero seed; NIST P-256).
DID_KEY_VECTORS = [
    (
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        {"kty": "OKP", "crv": "Ed25519", "x": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"},
    ),
    (
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
            "y": "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
        },
    ),
    (
        "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
            "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
        },
    ),
]


@pytest.mark.parametrize(("did_value", "expected_jwk"), DID_KEY_VECTORS)
def test_did_key_vectors_resolve_to_published_keys(
    did_value: str, expected_jwk: dict[str, str]
) -> None:
    method = did.resolve_offline(did_value)
    assert method.public_key.to_jwk() == expected_jwk
    assert method.controller == did_value
    fragment = did_value.removeprefix("did:key:")
    assert method.id == f"{did_value}#{fragment}"
    assert did.did_key(jwk.public_key_from_jwk(expected_jwk)) == did_value
    assert did.resolve_offline(method.id).public_key == method.public_key


def test_did_key_from_zero_seed_matches_vector() -> None:
    assert did.did_key(jwk.ed25519_from_seed(bytes(32)).public_key()) == DID_KEY_VECTORS[0][0]


@pytest.mark.parametrize("key_type", jwk.KEY_TYPES)
def test_did_jwk_round_trip(key_type: jwk.KeyType) -> None:
    public = KEYS[key_type].public_key()
    value = did.did_jwk(public)
    method = did.resolve_offline(value + "#0")
    assert method.public_key == public
    assert method.id == value + "#0"
    document = did.document_for(method)
    assert document["assertionMethod"] == [method.id]


def test_did_web_names_and_documents() -> None:
    name = did.did_web("https://uni.example:8443/base", "issuers", "helsinki")
    assert name == "did:web:uni.example%3A8443:base:issuers:helsinki"
    assert did.did_web_url(name) == "https://uni.example:8443/base/issuers/helsinki/did.json"
    assert did.did_web_url("did:web:uni.example") == "https://uni.example/.well-known/did.json"
    document = did.did_web_document(
        name, [("key-1", KEYS["ed25519"].public_key()), ("key-2", KEYS["rsa"].public_key())]
    )
    assert did.method_from_document(document, "#key-1").public_key == KEYS["ed25519"].public_key()
    assert (
        did.method_from_document(document, name + "#key-2").public_key == KEYS["rsa"].public_key()
    )
    with pytest.raises(DidError):
        did.method_from_document(document, "#key-3")


@pytest.mark.parametrize(
    "bad",
    [
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo",  # truncated key
        "did:key:z0OIl",  # not base58
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1: not supported
        "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",  # no multibase prefix
        "did:jwk:bm90LWpzb24",  # not JSON
        "did:jwk:eyJrdHkiOiJPS1AifQ",  # JWK without curve
        "did:example:123",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#other",
        "not-a-did",
    ],
)
def test_bad_dids_raise_typed_errors(bad: str) -> None:
    with pytest.raises(DidError):
        did.resolve_offline(bad)


@pytest.mark.parametrize(
    ("jwk_value", "error"),
    [
        ({"kty": "OKP", "crv": "Ed25519", "x": base64url.encode(b"\x01" * 31)}, InvalidKey),
        ({"kty": "OKP", "crv": "Ed25519", "x": base64url.encode(b"\x01" * 33)}, InvalidKey),
        (
            {
                "kty": "EC",
                "crv": "P-256",
                "x": base64url.encode(b"\x01" * 32),
                "y": base64url.encode(b"\x02" * 32),
            },
            InvalidKey,
        ),  # not on the curve
        ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, UnsupportedKeyType),
        (
            {"kty": "RSA", "n": base64url.encode(b"\xff" * 128), "e": "AQAB"},
            InvalidKey,
        ),  # 1024 bits
        ({"kty": "OKP", "crv": "Ed25519", "x": "not base64!"}, InvalidKey),
        ({"kty": "oct", "k": "AAAA"}, UnsupportedKeyType),
        ("a string", InvalidKey),
    ],
)
def test_bad_jwks_raise_typed_errors(jwk_value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        jwk.public_key_from_jwk(jwk_value)


def test_private_jwk_must_match_its_public_part() -> None:
    mixed = {**KEYS["ed25519"].to_jwk(), "x": jwk.generate("ed25519").public_key().to_jwk()["x"]}
    with pytest.raises(InvalidKey):
        jwk.private_key_from_jwk(mixed)
    with pytest.raises(InvalidKey):
        jwk.ed25519_from_seed(b"\x00" * 31)


@pytest.mark.parametrize("bad", ["", "z", "f00", "z0OIl", "z" + "1" * 5000, 42])
def test_malformed_multibase_raises(bad: object) -> None:
    with pytest.raises((InvalidMultibase, InvalidKey, UnsupportedKeyType)):
        multikey.decode_public(bad)  # type: ignore[arg-type]


def test_multikey_header_must_match_length() -> None:
    data = multikey.ED25519_PUB + b"\x01" * 31
    with pytest.raises(InvalidKey):
        multikey.decode_public(multikey.encode_base58btc(data))
    with pytest.raises(UnsupportedKeyType):
        multikey.decode_public(multikey.encode_base58btc(b"\xe7\x01" + b"\x02" * 33))


def test_private_key_never_shows_in_repr_or_str() -> None:
    for key in KEYS.values():
        secret = key.to_jwk()["d"]
        signer = KeySigner.for_key(key)
        for text in (repr(key), str(key), repr(signer), f"{key}"):
            assert secret not in text


@settings(max_examples=30, deadline=None)
@given(message=st.binary(max_size=512), key_type=st.sampled_from(["ed25519", "p256"]))
def test_any_one_byte_change_breaks_the_signature(message: bytes, key_type: jwk.KeyType) -> None:
    key = KEYS[key_type]
    signature = bytearray(key.sign(message))
    signature[len(signature) // 2] ^= 0x01
    with pytest.raises(InvalidSignature):
        key.public_key().verify(bytes(signature), message)


def test_ed25519_secret_multikey_in_64_byte_form() -> None:
    key = KEYS["ed25519"]
    seed, public = key.private_bytes(), key.public_key().raw_bytes()
    long_form = multikey.encode_base58btc(multikey.ED25519_PRIV + seed + public)
    assert multikey.decode_private(long_form).public_key() == key.public_key()
    other = jwk.generate("ed25519").public_key().raw_bytes()
    with pytest.raises(InvalidKey):
        multikey.decode_private(multikey.encode_base58btc(multikey.ED25519_PRIV + seed + other))


def test_a_public_key_holds_only_a_key_of_its_type() -> None:
    # PublicKey.verify dispatches on key_type: a key of another type or curve never gets that far
    from cryptography.hazmat.primitives.asymmetric import ec

    ed, p256, rsa = (jwk.generate(t).public_key() for t in jwk.KEY_TYPES)
    for key_type, raw in [("p256", ed.raw), ("ed25519", p256.raw), ("rsa", p256.raw)]:
        with pytest.raises(UnsupportedKeyType):
            jwk.PublicKey(key_type, raw)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedKeyType):
        jwk.PublicKey("p256", ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(UnsupportedKeyType):
        jwk.PublicKey("x25519", ed.raw)  # type: ignore[arg-type]
    assert jwk.PublicKey("rsa", rsa.raw) == rsa
