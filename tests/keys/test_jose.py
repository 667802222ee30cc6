"""Compact JWS (keys.jose): round trips, the algorithm allow-list, strict parsing, interop."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import socket
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from keys import base64url, jose
from keys.errors import DidError, InvalidSignature
from keys.jwk import KeyType, PrivateKey, PublicKey, generate
from keys.signing import KeySigner
from schemas.errors import TaitoError

ALGORITHMS = {"ed25519": "EdDSA", "p256": "ES256", "rsa": "RS256"}
KEY_TYPES: tuple[KeyType, ...] = ("ed25519", "p256", "rsa")


@functools.cache
def key(key_type: KeyType) -> PrivateKey:
    return generate(key_type)


def resolver(public: PublicKey) -> Callable[[Mapping[str, Any]], PublicKey]:
    return lambda header: public


def forge(header: bytes | Mapping[str, Any], payload: bytes, sign: Callable[[bytes], bytes]) -> str:
    """A token built by hand (any header bytes, any signing function): the attacker's view."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    signing_input = f"{base64url.encode(raw)}.{base64url.encode(payload)}"
    return f"{signing_input}.{base64url.encode(sign(signing_input.encode()))}"


def signed(key_type: KeyType = "ed25519", payload: bytes = b'{"a":1}', **header: Any) -> str:
    return jose.sign_compact(payload, header, KeySigner.for_key(key(key_type)))


def verify(token: str, key_type: KeyType = "ed25519", **kwargs: Any) -> jose.JwsResult:
    kwargs.setdefault("algorithms", ("EdDSA", "ES256", "RS256"))
    return jose.verify_compact(token, resolve_key=resolver(key(key_type).public_key()), **kwargs)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_round_trip_each_algorithm(key_type: KeyType) -> None:
    signer = KeySigner.for_key(key(key_type))
    token = jose.sign_compact(b"hello", {"typ": "example+jwt", "kid": signer.key_id}, signer)
    result = verify(token, key_type, algorithms=[ALGORITHMS[key_type]])
    assert result.payload == b"hello"
    assert result.header == {
        "alg": ALGORITHMS[key_type],
        "typ": "example+jwt",
        "kid": signer.key_id,
    }
    header, payload, signing_input, signature = jose.decode_unverified(token)
    assert (header, payload) == (result.header, b"hello")
    assert signing_input == token.rsplit(".", 1)[0].encode()
    key(key_type).public_key().verify(signature, signing_input)


_header_values = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key_type=st.sampled_from(KEY_TYPES),
    payload=st.binary(min_size=1, max_size=300),
    extra=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(
            lambda n: n not in {"alg", "crit", "b64", "jwk", "kid", "typ", "cty"}
        ),
        _header_values,
        max_size=4,
    ),
)
def test_round_trip_any_payload_and_header(
    key_type: KeyType, payload: bytes, extra: dict[str, Any]
) -> None:
    token = signed(key_type, payload, **extra)
    result = verify(token, key_type)
    assert result.payload == payload
    assert result.header == {"alg": ALGORITHMS[key_type], **extra}


@settings(max_examples=100, deadline=None)
@given(data=st.data(), key_type=st.sampled_from(KEY_TYPES))
def test_any_one_character_tamper_fails(data: st.DataObject, key_type: KeyType) -> None:
    token = signed(key_type, b'{"claim":"value","n":12345}', typ="JWT")
    index = data.draw(st.integers(0, len(token) - 1))
    char = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")
    )
    assume(token[index] != char)
    tampered = token[:index] + char + token[index + 1 :]
    with pytest.raises(TaitoError) as caught:
        verify(tampered, key_type)
    assert isinstance(caught.value, jose.JoseError | InvalidSignature)


# --- the algorithm allow-list --------------------------------------------------------------------


def test_alg_none_with_empty_signature_is_refused() -> None:
    token = forge({"alg": "none", "typ": "JWT"}, b'{"a":1}', lambda data: b"")
    assert token.endswith(".")
    with pytest.raises(jose.AlgorithmNotAllowed):
        verify(token)
    with pytest.raises(jose.AlgorithmNotAllowed):  # even when a caller asks for it
        verify(token, algorithms=["none"])


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("secret_form", ["jwk", "der", "pem"])
def test_hs256_keyed_with_issuer_public_key_is_refused(key_type: KeyType, secret_form: str) -> None:
    public = key(key_type).public_key()
    raw = public.raw
    secret = {
        "jwk": json.dumps(public.to_jwk()).encode(),
        "der": raw.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pem": raw.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }[secret_form]
    token = forge(
        {"alg": "HS256", "typ": "JWT"},
        b'{"admin":true}',
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    with pytest.raises(jose.AlgorithmNotAllowed) as caught:
        verify(token, key_type)
    assert caught.value.code == "alg_not_allowed"
    with pytest.raises(jose.AlgorithmNotAllowed):
        verify(token, key_type, algorithms=["HS256", "EdDSA"])


@pytest.mark.parametrize(
    ("header_alg", "signing_type", "resolved_type"),
    [
        ("ES256", "ed25519", "ed25519"),  # ES256 header on an Ed25519 key
        ("RS256", "p256", "p256"),  # RS/ES swap
        ("ES256", "rsa", "rsa"),
        ("EdDSA", "p256", "p256"),
    ],
)
def test_alg_must_fit_the_key_type(
    header_alg: str, signing_type: KeyType, resolved_type: KeyType
) -> None:
    token = forge({"alg": header_alg}, b"{}", key(signing_type).sign)
    with pytest.raises(jose.AlgorithmKeyMismatch) as caught:
        verify(token, resolved_type)
    assert caught.value.code == "alg_key_mismatch"


def test_allow_list_is_per_call() -> None:
    token = signed("ed25519")
    with pytest.raises(jose.AlgorithmNotAllowed):
        verify(token, algorithms=["ES256", "RS256"])
    assert verify(token, algorithms=["EdDSA"]).payload == b'{"a":1}'


@pytest.mark.parametrize("algorithms", [[], "EdDSA", ["EdDSA", "HS512"], ["PS256"]])
def test_bad_allow_lists_are_refused(algorithms: Any) -> None:
    with pytest.raises(jose.AlgorithmNotAllowed):
        verify(signed(), algorithms=algorithms)


def test_signing_refuses_foreign_algorithms() -> None:
    class HmacSigner:
        algorithm = "HS256"
        key_id = "k"

        def sign(self, data: bytes) -> bytes:
            return hmac.new(b"secret", data, hashlib.sha256).digest()

    with pytest.raises(jose.AlgorithmNotAllowed):
        jose.sign_compact(b"x", {}, HmacSigner())
    with pytest.raises(jose.AlgorithmKeyMismatch):
        jose.sign_compact(b"x", {"alg": "ES256"}, KeySigner.for_key(key("ed25519")))
    with pytest.raises(jose.MalformedJws):
        jose.sign_compact(b"x", {"typ": float("nan")}, KeySigner.for_key(key("ed25519")))


# --- structure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("segments", [1, 2, 4, 5, 10_000])
def test_wrong_number_of_segments(segments: int) -> None:
    parts = signed().split(".")
    token = ".".join((parts * segments)[:segments])
    with pytest.raises(jose.MalformedJws):
        verify(token)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace(".", ".!", 1),
        lambda t: t.replace(".", ".+/", 1),
        lambda t: t + "==",
        lambda t: t[: t.index(".")] + "=" + t[t.index(".") :],
        lambda t: t.rsplit(".", 1)[0] + ".A",  # dangling base64 character
        lambda t: "é" + t,
        lambda t: t.split(".")[0] + "..sig",  # empty (detached) payload
        lambda t: "." + t.split(".", 1)[1],  # empty header
    ],
)
def test_garbled_base64(mutate: Callable[[str], str]) -> None:
    with pytest.raises(jose.MalformedJws):
        verify(mutate(signed()))


def test_non_canonical_base64_is_refused() -> None:
    token = signed("p256")
    head, sig = token.rsplit(".", 1)
    # 64 bytes -> 86 chars with 4 spare bits: setting one must not decode to the same signature
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    with pytest.raises(base64url.InvalidBase64Url):
        base64url.decode(twin)
    with pytest.raises(jose.MalformedJws):
        verify(f"{head}.{twin}", "p256")


@pytest.mark.parametrize("token", [None, b"a.b.c", 123, ["a", "b", "c"]])
def test_non_string_tokens(token: Any) -> None:
    with pytest.raises(jose.MalformedJws):
        jose.decode_unverified(token)


def test_oversized_token_is_refused_before_parsing() -> None:
    huge = "a" * (jose.MAX_TOKEN_BYTES + 1)
    with pytest.raises(jose.MalformedJws, match="larger"):
        verify(huge)
    with pytest.raises(jose.MalformedJws):
        jose.sign_compact(b"x" * jose.MAX_TOKEN_BYTES, {}, KeySigner.for_key(key("ed25519")))


@pytest.mark.parametrize(
    "header",
    [
        b'{"alg":"EdDSA","alg":"EdDSA"}',  # duplicate names (RFC 7515 §5.2)
        b'{"alg":"EdDSA","kid":"a","kid":"b"}',
        b'["alg","EdDSA"]',
        b'"EdDSA"',
        b"{not json}",
        b'{"alg":"EdDSA","x":' + b"[" * 50 + b"]" * 50 + b"}",
        b'{"alg":"EdDSA","x":NaN}',
        b"\xff\xfe",
        b'{"typ":"JWT"}',  # no alg
        b'{"alg":""}',
        b'{"alg":["EdDSA"]}',
        b'{"alg":"EdDSA","kid":7}',
        b'{"alg":"EdDSA","jwk":"not an object"}',
    ],
)
def test_bad_headers(header: bytes) -> None:
    token = forge(header, b"{}", key("ed25519").sign)
    with pytest.raises(jose.MalformedJws):
        verify(token)


def test_embedded_private_jwk_is_refused() -> None:
    token = forge({"alg": "EdDSA", "jwk": key("ed25519").to_jwk()}, b"{}", key("ed25519").sign)
    with pytest.raises(jose.MalformedJws):
        verify(token)


# --- crit and b64 (RFC 7515 §4.1.11, RFC 7797) ---------------------------------------------------


def test_unknown_critical_extension_is_refused() -> None:
    header = {"crit": ["exp-ext"], "exp-ext": 1}
    token = jose.sign_compact(b"{}", header, KeySigner.for_key(key("ed25519")))
    with pytest.raises(jose.CritUnsupported) as caught:
        verify(token)
    assert caught.value.code == "crit_unsupported"
    assert verify(token, understood_crit=["exp-ext"]).header["exp-ext"] == 1


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "EdDSA", "crit": []},
        {"alg": "EdDSA", "crit": "ext"},
        {"alg": "EdDSA", "crit": ["ext"]},  # listed but absent
        {"alg": "EdDSA", "crit": ["alg"]},  # registered name
        {"alg": "EdDSA", "crit": ["ext", "ext"], "ext": 1},
        {"alg": "EdDSA", "crit": [1]},
    ],
)
def test_malformed_crit(header: dict[str, Any]) -> None:
    token = forge(header, b"{}", key("ed25519").sign)
    with pytest.raises(jose.MalformedJws):
        verify(token, understood_crit=["ext"])


@pytest.mark.parametrize(
    "header", [{"alg": "EdDSA", "b64": False, "crit": ["b64"]}, {"alg": "EdDSA", "b64": False}]
)
def test_unencoded_payload_is_refused(header: dict[str, Any]) -> None:
    token = forge(header, b"{}", key("ed25519").sign)
    with pytest.raises(jose.CritUnsupported):
        verify(token, understood_crit=["b64"])


# --- signatures and keys -------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_wrong_key_fails(key_type: KeyType) -> None:
    other = generate(key_type).public_key()
    with pytest.raises(InvalidSignature):
        jose.verify_compact(
            signed(key_type), algorithms=[ALGORITHMS[key_type]], resolve_key=resolver(other)
        )


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("cut", [1, 2, 32])
def test_short_signatures_fail(key_type: KeyType, cut: int) -> None:
    header, payload, _, _ = jose.decode_unverified(signed(key_type))
    token = forge(header, payload, lambda data: key(key_type).sign(data)[:-cut])
    with pytest.raises(InvalidSignature):
        verify(token, key_type)


def test_resolver_errors_propagate_and_jku_x5u_are_never_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    token = signed(jku="https://attacker.example/jwks", x5u="https://attacker.example/cert")
    seen: list[Mapping[str, Any]] = []

    def remember(header: Mapping[str, Any]) -> PublicKey:
        seen.append(header)
        return key("ed25519").public_key()

    jose.verify_compact(token, algorithms=["EdDSA"], resolve_key=remember)
    assert seen[0]["jku"] == "https://attacker.example/jwks"

    def refuse(header: Mapping[str, Any]) -> PublicKey:
        raise DidError("unknown kid")

    with pytest.raises(DidError):
        jose.verify_compact(token, algorithms=["EdDSA"], resolve_key=refuse)
    with pytest.raises(jose.JoseError):
        jose.verify_compact(token, algorithms=["EdDSA"], resolve_key=lambda h: "not a key")  # type: ignore[arg-type,return-value]


def test_typ_matches() -> None:
    assert jose.typ_matches("application/vc+jwt", "vc+jwt")
    assert jose.typ_matches("VC+JWT", "vc+jwt")
    assert jose.typ_matches("jwt", "JWT")
    assert not jose.typ_matches("vp+jwt", "vc+jwt")
    assert not jose.typ_matches(None, "JWT")
    assert not jose.typ_matches("text/jwt", "jwt")


# --- interop with jwcrypto -----------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_jwcrypto_verifies_our_tokens(key_type: KeyType) -> None:
    token = signed(key_type, b'{"hello":"world"}', typ="JWT")
    public = jwcrypto_jwk.JWK(**key(key_type).public_key().to_jwk())
    parsed = jwcrypto_jws.JWS()
    parsed.deserialize(token)
    parsed.verify(public, alg=ALGORITHMS[key_type])
    assert parsed.payload == b'{"hello":"world"}'


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_we_verify_jwcrypto_tokens(key_type: KeyType) -> None:
    private = jwcrypto_jwk.JWK(**key(key_type).to_jwk())
    theirs = jwcrypto_jws.JWS(b'{"from":"jwcrypto"}')
    theirs.add_signature(private, None, json.dumps({"alg": ALGORITHMS[key_type], "typ": "JWT"}))
    token = theirs.serialize(compact=True)
    result = verify(token, key_type, algorithms=[ALGORITHMS[key_type]])
    assert result.payload == b'{"from":"jwcrypto"}'
    assert result.header == {"alg": ALGORITHMS[key_type], "typ": "JWT"}
