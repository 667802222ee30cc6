"""JWT-secured credentials (keys.vc_jwt): OB 3.0 VC-JWT, VC-JOSE-COSE, VC 1.1 JWTs."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from keys import base64url, jose, vc_jwt
from keys.did import default_method_id, did_key, did_key_method_id
from keys.errors import InvalidSignature
from keys.jwk import KeyType, PrivateKey, PublicKey, generate, public_key_from_jwk
from keys.signing import KeySigner
from schemas.errors import TaitoError

KEY_TYPES: tuple[KeyType, ...] = ("ed25519", "p256", "rsa")
ALGORITHMS = {"ed25519": "EdDSA", "p256": "ES256", "rsa": "RS256"}
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
V2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def shared_dir() -> Path:
    override = os.environ.get("TAITO_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / ".." / "shared"


REC_EXAMPLES = shared_dir() / "conformance" / "vc2" / "examples" / "vcdm20-rec"
OB3_FIXTURES = shared_dir() / "conformance" / "ob3" / "validator-fixtures" / "ob30"


@functools.cache
def key(key_type: KeyType) -> PrivateKey:
    return generate(key_type)


def signer(key_type: KeyType) -> KeySigner:
    return KeySigner.for_key(key(key_type))


def issuer_did(key_type: KeyType) -> str:
    return default_method_id(key(key_type).public_key()).split("#")[0]


def badge(key_type: KeyType = "ed25519", **changes: Any) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [V2, OB3],
        "id": "urn:uuid:91537dba-56cb-11ec-bf63-0242ac130002",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_did(key_type), "type": ["Profile"], "name": "Example University"},
        "validFrom": "2025-01-01T00:00:00Z",
        "name": "Teamwork Badge",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "type": ["AchievementSubject"],
            "achievement": {"id": "urn:uuid:a09d", "type": ["Achievement"], "name": "Teamwork"},
        },
    }
    credential.update(changes)
    return {k: v for k, v in credential.items() if v is not None}


def verify(token: str, **kwargs: Any) -> vc_jwt.VerifiedJwt:
    kwargs.setdefault("resolve_key", vc_jwt.resolve_offline_jwt_key)
    kwargs.setdefault("now", NOW)
    return vc_jwt.verify_jwt_credential(token, **kwargs)


def forge(
    header: bytes | Mapping[str, Any],
    payload: bytes | Mapping[str, Any],
    sign: Callable[[bytes], bytes],
) -> str:
    raw_header = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw_payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{base64url.encode(raw_header)}.{base64url.encode(raw_payload)}"
    return f"{signing_input}.{base64url.encode(sign(signing_input.encode()))}"


def sign_payload(payload: Mapping[str, Any], key_type: KeyType = "ed25519", **header: Any) -> str:
    """Sign an arbitrary claims set with the issuer's real key (a dishonest or sloppy issuer)."""
    s = signer(key_type)
    return jose.sign_compact(json.dumps(payload).encode(), {"kid": s.key_id, **header}, s)


# --- round trips ---------------------------------------------------------------------------------

_json_leaf = st.one_of(st.text(max_size=30), st.integers(-(2**53), 2**53), st.booleans(), st.none())
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    key_type=st.sampled_from(KEY_TYPES),
    profile=st.sampled_from(["ob3", "vc+jwt"]),
    subject=st.dictionaries(st.text(min_size=1, max_size=12), _json, max_size=5),
    with_iat=st.booleans(),
)
def test_credential_round_trip(
    key_type: KeyType, profile: Literal["ob3", "vc+jwt"], subject: dict[str, Any], with_iat: bool
) -> None:
    credential = badge(key_type, credentialSubject=subject)
    token = vc_jwt.sign_credential_jwt(
        credential, signer=signer(key_type), profile=profile, now=NOW if with_iat else None
    )
    result = verify(token)
    assert result.credential == credential
    assert result.header == {
        "alg": ALGORITHMS[key_type],
        "typ": "JWT" if profile == "ob3" else "vc+jwt",
        "kid": signer(key_type).key_id,
    }
    iat = {"iat": int(NOW.timestamp())} if with_iat else {}
    if profile == "ob3":
        assert result.profile == "ob3-jwt"
        expected: dict[str, Any] = {
            "iss": issuer_did(key_type),
            "jti": credential["id"],
            "nbf": int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()),
            **iat,
        }
        if isinstance(subject.get("id"), str):
            expected["sub"] = subject["id"]
        assert result.claims == expected
    else:
        assert result.profile == "vc+jwt"
        assert result.claims == iat
        # VC-JOSE-COSE §3.1.1: the payload is the credential itself
        assert json.loads(jose.decode_unverified(token).payload) == {**credential, **iat}


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_ob3_registered_claims(key_type: KeyType) -> None:
    credential = badge(key_type, validUntil="2030-01-01T00:00:00Z")
    token = vc_jwt.sign_credential_jwt(credential, signer=signer(key_type), profile="ob3")
    payload = json.loads(jose.decode_unverified(token).payload)
    # OB 3.0 §8.2: the credential members at the top level plus iss, jti, nbf, exp, sub
    assert payload == {
        **credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": 1735689600,
        "exp": 1893456000,
        "sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
    }
    assert "vc" not in payload
    assert verify(token).credential == credential


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_presentation_round_trip(key_type: KeyType) -> None:
    holder = issuer_did(key_type)
    presentation = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [
            {
                "@context": [V2],
                "id": "data:application/vc+jwt,eyJ...",
                "type": "EnvelopedVerifiableCredential",
            }
        ],
    }
    token = vc_jwt.sign_presentation_jwt(
        presentation,
        signer=signer(key_type),
        audience="https://verifier.example",
        nonce="n-0S6",
        now=NOW,
    )
    result = verify(
        token, audience="https://verifier.example", nonce="n-0S6", expected_typ=["vp+jwt"]
    )
    assert result.profile == "vp+jwt"
    assert result.credential == presentation
    assert result.claims == {
        "iss": holder,
        "aud": "https://verifier.example",
        "nonce": "n-0S6",
        "iat": int(NOW.timestamp()),
    }
    with pytest.raises(vc_jwt.JwtAudienceMismatch):
        verify(token, audience="https://other.example", nonce="n-0S6")
    with pytest.raises(vc_jwt.JwtAudienceMismatch):  # RFC 7519 §4.1.3: unnamed recipient rejects
        verify(token, nonce="n-0S6")
    with pytest.raises(vc_jwt.JwtNonceMismatch):
        verify(token, audience="https://verifier.example", nonce="n-0S7")
    with pytest.raises(vc_jwt.JwtTypMismatch):
        verify(token, audience="https://verifier.example", expected_typ=["vc+jwt"])


def test_presentation_without_binding_needs_none() -> None:
    presentation = {"@context": [V2], "type": "VerifiablePresentation"}
    token = vc_jwt.sign_presentation_jwt(presentation, signer=signer("ed25519"))
    # no holder and no iss: the kid's did:key alone names the key
    assert verify(token).credential == presentation
    with pytest.raises(InvalidSignature):
        verify(token, resolve_key=lambda h, p: generate("ed25519").public_key())
    with pytest.raises(vc_jwt.JwtAudienceMismatch):
        verify(token, resolve_key=lambda h, p: key("ed25519").public_key(), audience="x")
    with pytest.raises(vc_jwt.JwtNonceMismatch):
        verify(token, resolve_key=lambda h, p: key("ed25519").public_key(), nonce="x")


def test_signing_refuses_bad_documents() -> None:
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        vc_jwt.sign_credential_jwt(badge(issuer=None), signer=signer("ed25519"), profile="ob3")
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        vc_jwt.sign_credential_jwt({"vc": badge()}, signer=signer("ed25519"), profile="vc+jwt")
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        vc_jwt.sign_credential_jwt(badge(iss="x"), signer=signer("ed25519"), profile="ob3")
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        vc_jwt.sign_credential_jwt(
            badge(validFrom="yesterday"), signer=signer("ed25519"), profile="ob3"
        )
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        vc_jwt.sign_credential_jwt(
            badge(name=float("inf")), signer=signer("ed25519"), profile="vc+jwt"
        )
    with pytest.raises(vc_jwt.VcJwtError):
        vc_jwt.sign_credential_jwt(badge(), signer=signer("ed25519"), profile="jwt")  # type: ignore[arg-type]
    with pytest.raises(vc_jwt.VcJwtError):
        vc_jwt.sign_credential_jwt(
            badge(), signer=signer("ed25519"), profile="ob3", now=datetime(2025, 1, 1)
        )
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        vc_jwt.sign_presentation_jwt(badge(), signer=signer("ed25519"))


# --- W3C VC 2.0 REC examples (vc+jwt, ES256) -----------------------------------------------------


def rec_examples() -> list[Path]:
    if not REC_EXAMPLES.is_dir():
        return []
    return sorted(REC_EXAMPLES.glob("example-*.json"))


@pytest.fixture(scope="module")
def rec_key() -> PublicKey:
    path = REC_EXAMPLES / "_derived-jose-verification-key.json"
    if not path.is_file():
        pytest.skip(f"W3C VC 2.0 example key absent ({path}); set TAITO_SHARED_DIR")
    return public_key_from_jwk(json.loads(path.read_text())["jwk"])


@pytest.mark.parametrize("path", rec_examples() or [None], ids=lambda p: p.stem if p else "absent")
def test_w3c_rec_vc_jwt_examples(path: Path | None, rec_key: PublicKey) -> None:
    if path is None:
        pytest.skip(f"W3C VC 2.0 REC examples absent ({REC_EXAMPLES}); set TAITO_SHARED_DIR")
    example = json.loads(path.read_text())
    secured = example["vc+jwt"]
    token = secured["compact"]
    published_kid = secured["protectedHeader"]["kid"]

    def resolve(header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
        assert header.get("kid") == published_kid
        return rec_key

    # step 1: the protected header decodes to exactly the published one
    decoded = jose.decode_unverified(token)
    assert decoded.header == secured["protectedHeader"]
    # step 2: the payload is exactly the unsecured credential (VC-JOSE-COSE §3.1.1)
    if "unsecured" in example:
        assert json.loads(decoded.payload) == example["unsecured"]
    # step 3: the signature verifies and the result is exactly that credential
    result = vc_jwt.verify_jwt_credential(token, resolve_key=resolve, now=NOW)
    assert result.profile == "vc+jwt"
    assert result.header == secured["protectedHeader"]
    assert result.claims == {}
    if "unsecured" in example:
        assert result.credential == example["unsecured"]
    # and a different P-256 key does not verify it
    with pytest.raises(InvalidSignature):
        vc_jwt.verify_jwt_credential(
            token, resolve_key=lambda h, p: generate("p256").public_key(), now=NOW
        )
    with pytest.raises(vc_jwt.JwtTypMismatch):  # no typ: refused when the caller insists on one
        vc_jwt.verify_jwt_credential(token, resolve_key=resolve, now=NOW, expected_typ=["vc+jwt"])


def test_w3c_rec_examples_present() -> None:
    if not rec_examples():
        pytest.skip(f"W3C VC 2.0 REC examples absent ({REC_EXAMPLES})")
    assert sum("vc+jwt" in json.loads(p.read_text()) for p in rec_examples()) >= 9


def test_ob3_validator_jwt_fixture_is_handled() -> None:
    path = OB3_FIXTURES / "simple.jwt"
    if not path.is_file():
        pytest.skip(f"1EdTech validator fixtures absent ({path})")
    token = path.read_text().strip()
    assert jose.decode_unverified(token).header == {"alg": "RS256", "typ": "JWT"}
    # its issuer is an https URL with no key material: offline resolution must refuse, typed
    with pytest.raises(vc_jwt.UntrustedJwtKey):
        verify(token)


# --- VC Data Model 1.1 JWTs ----------------------------------------------------------------------


def test_vc11_jwt_transformation() -> None:
    did = issuer_did("p256")
    payload = {
        "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential"],
            "issuer": {"name": "Example University"},
            "credentialSubject": {"degree": "BSc"},
        },
        "iss": did,
        "nbf": 1262304000,
        "exp": 1893456000,
        "jti": "http://example.edu/credentials/3732",
        "sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
    }
    result = verify(sign_payload(payload, "p256", typ="JWT"))
    assert result.profile == "vc11-jwt"
    # VC DM 1.1 §6.3.1: iss->issuer, nbf->issuanceDate, jti->id, sub->credentialSubject.id, exp
    assert result.credential == {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": {"name": "Example University", "id": did},
        "credentialSubject": {"degree": "BSc", "id": "did:example:ebfeb1f712ebc6f1c276e12ec21"},
        "id": "http://example.edu/credentials/3732",
        "issuanceDate": "2010-01-01T00:00:00Z",
        "expirationDate": "2030-01-01T00:00:00Z",
    }
    assert result.claims == {k: v for k, v in payload.items() if k != "vc"}
    # without typ too
    assert verify(sign_payload(payload, "p256")).profile == "vc11-jwt"


def test_vc11_vp_claim() -> None:
    did = issuer_did("ed25519")
    payload: dict[str, Any] = {
        "vp": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiablePresentation"],
        },
        "iss": did,
        "aud": "https://verifier.example",
        "nonce": "343s$FSFDa-",
        "jti": "urn:uuid:3978344f",
    }
    result = verify(
        sign_payload(payload, typ="JWT"), audience="https://verifier.example", nonce="343s$FSFDa-"
    )
    assert result.profile == "vc11-jwt"
    assert result.credential == {**payload["vp"], "holder": did, "id": "urn:uuid:3978344f"}


@pytest.mark.parametrize(
    ("vc_changes", "claim_changes"),
    [
        ({"issuer": "did:example:someone-else"}, {}),
        ({"id": "urn:uuid:other"}, {}),
        ({"credentialSubject": {"id": "did:example:other"}}, {}),
    ],
)
def test_vc11_mismatches(vc_changes: dict[str, Any], claim_changes: dict[str, Any]) -> None:
    payload = {
        "vc": {"type": ["VerifiableCredential"], "credentialSubject": {}, **vc_changes},
        "iss": issuer_did("ed25519"),
        "jti": "urn:uuid:1",
        "sub": "did:example:1",
        **claim_changes,
    }
    with pytest.raises(vc_jwt.JwtClaimMismatch):
        verify(sign_payload(payload, typ="JWT"))


@pytest.mark.parametrize(
    "payload",
    [
        {"vc": badge(), "vp": {}, "iss": "did:example:1"},
        {"vc": "a string"},
        {"vc": badge(), "iss": 7},
        {"vc": badge(), "nbf": "2020-01-01"},
        {"vc": badge(), "exp": True},
    ],
)
def test_vc11_bad_claims(payload: dict[str, Any]) -> None:
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(
            sign_payload(payload, typ="JWT"), resolve_key=lambda h, p: key("ed25519").public_key()
        )


def test_vc_claim_under_vc_jose_cose_typ_is_refused() -> None:
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(sign_payload({"vc": badge()}, typ="vc+jwt"))


# --- bad input -----------------------------------------------------------------------------------


def good_token(key_type: KeyType = "ed25519", **changes: Any) -> str:
    return vc_jwt.sign_credential_jwt(
        badge(key_type, **changes), signer=signer(key_type), profile="ob3"
    )


@pytest.mark.parametrize("cut", [1, 5, 40, 100, 200, 400])
def test_truncated_jwt(cut: int) -> None:
    token = good_token()
    with pytest.raises((jose.MalformedJws, InvalidSignature)):
        verify(token[:-cut])


@pytest.mark.parametrize("segments", [1, 2, 4, 5, 10_000])
def test_wrong_segment_count(segments: int) -> None:
    parts = good_token().split(".")
    with pytest.raises(jose.MalformedJws):
        verify(".".join((parts * segments)[:segments]))


@pytest.mark.parametrize("garble", ["!", "+", "/", "=", " ", "%"])
def test_garbled_base64(garble: str) -> None:
    token = good_token()
    middle = token.index(".") + 10
    with pytest.raises(jose.MalformedJws):
        verify(token[:middle] + garble + token[middle + 1 :])


def test_alg_none() -> None:
    token = forge(
        {"alg": "none", "typ": "JWT"}, {**badge(), "iss": issuer_did("ed25519")}, lambda d: b""
    )
    with pytest.raises(jose.AlgorithmNotAllowed):
        verify(token)
    with pytest.raises(jose.AlgorithmNotAllowed):
        verify(token, algorithms=["none"])


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
def test_hs256_with_issuer_public_key_as_secret(key_type: KeyType) -> None:
    public = key(key_type).public_key()
    payload = {**badge(key_type), "iss": issuer_did(key_type)}
    header = {"alg": "HS256", "typ": "JWT", "kid": did_key_method_id(public)}
    for secret in (public.raw_bytes(), json.dumps(public.to_jwk()).encode()):
        token = forge(header, payload, functools.partial(hmac_sha256, secret))
        with pytest.raises(jose.AlgorithmNotAllowed):
            verify(token)
        with pytest.raises(jose.AlgorithmNotAllowed):
            verify(token, algorithms=["HS256"])


def hmac_sha256(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()


def test_es256_header_on_ed25519_key() -> None:
    s = signer("ed25519")
    payload = {**badge(), "iss": issuer_did("ed25519")}
    token = forge({"alg": "ES256", "typ": "JWT", "kid": s.key_id}, payload, key("ed25519").sign)
    with pytest.raises(jose.AlgorithmKeyMismatch):
        verify(token)


@pytest.mark.parametrize("typ", ["dc+sd-jwt", "openid4vci-proof+jwt", "at+jwt", "JOSE"])
def test_wrong_typ(typ: str) -> None:
    with pytest.raises(vc_jwt.JwtTypMismatch):
        verify(sign_payload({**badge(), "iss": issuer_did("ed25519")}, typ=typ))


def test_expected_typ() -> None:
    token = good_token()
    assert verify(token, expected_typ=["JWT"]).profile == "ob3-jwt"
    assert verify(token, expected_typ="application/jwt").profile == "ob3-jwt"
    with pytest.raises(vc_jwt.JwtTypMismatch):
        verify(token, expected_typ=["vc+jwt"])


def test_duplicate_header_keys() -> None:
    s = signer("ed25519")
    header = f'{{"alg":"EdDSA","typ":"JWT","kid":"{s.key_id}","kid":"did:key:z6Mkother"}}'.encode()
    with pytest.raises(jose.MalformedJws):
        verify(forge(header, {**badge(), "iss": issuer_did("ed25519")}, key("ed25519").sign))


def test_duplicate_payload_keys() -> None:
    s = signer("ed25519")
    body = (
        json.dumps({**badge(), "iss": issuer_did("ed25519")})[:-1] + ', "iss": "did:example:evil"}'
    )
    token = forge(
        {"alg": "EdDSA", "typ": "JWT", "kid": s.key_id}, body.encode(), key("ed25519").sign
    )
    with pytest.raises(vc_jwt.MalformedJwt):
        verify(token)


@pytest.mark.parametrize("payload", [b"[1,2]", b'"text"', b"not json", b"\xff"])
def test_payload_not_an_object(payload: bytes) -> None:
    s = signer("ed25519")
    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": s.key_id}, payload, key("ed25519").sign)
    with pytest.raises(vc_jwt.MalformedJwt):
        verify(token)


def test_unknown_crit() -> None:
    header = {"typ": "JWT", "crit": ["urn:x"], "urn:x": True}
    token = sign_payload({**badge(), "iss": issuer_did("ed25519")}, "ed25519", **header)
    with pytest.raises(jose.CritUnsupported):
        verify(token)


def test_expired_and_not_yet_valid() -> None:
    token = good_token(validFrom="2025-06-01T12:00:00Z", validUntil="2025-06-02T12:00:00Z")
    start, end = datetime(2025, 6, 1, 12, tzinfo=UTC), datetime(2025, 6, 2, 12, tzinfo=UTC)
    assert verify(token, now=start).profile == "ob3-jwt"
    assert verify(token, now=start - timedelta(seconds=60)).profile == "ob3-jwt"  # leeway
    assert verify(token, now=end + timedelta(seconds=59)).profile == "ob3-jwt"
    with pytest.raises(vc_jwt.JwtNotYetValid) as early:
        verify(token, now=start - timedelta(seconds=61))
    assert early.value.code == "jwt_not_yet_valid"
    with pytest.raises(vc_jwt.JwtExpired) as late:
        verify(token, now=end + timedelta(seconds=60))
    assert late.value.code == "jwt_expired"
    with pytest.raises(vc_jwt.JwtExpired):
        verify(token, now=end, leeway=timedelta(0))
    with pytest.raises(vc_jwt.VcJwtError):
        verify(token, now=datetime(2025, 6, 1, 12))  # naive time is a caller error


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "did:example:impostor"},
        {"jti": "urn:uuid:other"},
        {"sub": "did:example:someone-else"},
    ],
)
def test_claim_mismatch(claims: dict[str, Any]) -> None:
    payload = {**badge(), "iss": issuer_did("ed25519"), **claims}
    # a fixed resolver: the signature is genuine, the claims are what is wrong
    token = sign_payload(payload, typ="JWT")
    with pytest.raises(vc_jwt.JwtClaimMismatch):
        verify(token, resolve_key=lambda h, p: key("ed25519").public_key())


def test_ob3_requires_iss_and_an_issuer() -> None:
    fixed = key("ed25519").public_key()
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(sign_payload(badge(), typ="JWT"), resolve_key=lambda h, p: fixed)
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(sign_payload(badge(issuer=None), typ="vc+jwt"), resolve_key=lambda h, p: fixed)
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(
            sign_payload({**badge(), "exp": "tomorrow"}, typ="vc+jwt"),
            resolve_key=lambda h, p: fixed,
        )
    vp = {"@context": [V2], "type": "VerifiablePresentation"}
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(sign_payload(vp, typ="vc+jwt"), resolve_key=lambda h, p: fixed)
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(sign_payload(badge(), typ="vp+jwt"), resolve_key=lambda h, p: fixed)


def test_oversized_token() -> None:
    with pytest.raises(jose.MalformedJws):
        verify("e" * (jose.MAX_TOKEN_BYTES + 1) + ".a.b")


def test_deeply_nested_payload() -> None:
    deep: Any = "leaf"
    for _ in range(200):
        deep = {"x": deep}
    body = json.dumps({**badge(), "iss": issuer_did("ed25519"), "credentialSubject": deep})
    s = signer("ed25519")
    token = forge(
        {"alg": "EdDSA", "typ": "JWT", "kid": s.key_id}, body.encode(), key("ed25519").sign
    )
    with pytest.raises(vc_jwt.MalformedJwt):
        verify(token)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_garbage_raises_a_typed_error(data: st.DataObject) -> None:
    token = good_token()
    start = data.draw(st.integers(0, len(token)))
    junk = data.draw(st.text(max_size=8))
    end = data.draw(st.integers(start, min(len(token), start + 8)))
    mangled = token[:start] + junk + token[end:]
    if mangled == token:
        return
    with pytest.raises(TaitoError):
        verify(mangled)


# --- offline key resolution ----------------------------------------------------------------------


def test_kid_did_must_belong_to_the_issuer() -> None:
    attacker = generate("ed25519")
    forged = vc_jwt.sign_credential_jwt(badge(), signer=KeySigner.for_key(attacker), profile="ob3")
    # the issuer says did:key of the university, the kid names the attacker's own did:key
    with pytest.raises(vc_jwt.UntrustedJwtKey):
        verify(forged)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_resolution_paths(key_type: KeyType) -> None:
    public = key(key_type).public_key()
    did = issuer_did(key_type)
    method_id = default_method_id(public)
    payload = {**badge(key_type), "iss": did}
    fragment = method_id.split("#")[1]
    for header in (
        {"kid": method_id},
        {"kid": fragment},
        {"kid": "#" + fragment},
        {},
        {"jwk": public.to_jwk()},
        {"kid": method_id, "jwk": public.to_jwk()},
    ):
        assert vc_jwt.resolve_offline_jwt_key(header, payload) == public
    assert vc_jwt.resolve_offline_jwt_key({}, badge(key_type)) == public  # issuer id, no iss
    other = generate("ed25519").public_key()
    for header, body in (
        ({"jwk": other.to_jwk()}, payload),  # embedded key that is not the issuer's
        ({"jwk": {"kty": "oct", "k": "c2VjcmV0"}}, payload),
        ({"kid": "#other"}, payload),
        ({"kid": did_key(other) + "#" + did_key(other)[8:]}, payload),
        ({"kid": "did:web:issuer.example#key-1"}, {**payload, "iss": "did:web:issuer.example"}),
        ({"kid": method_id}, {**payload, "iss": "https://issuer.example"}),
        ({"kid": "key-1"}, {**payload, "iss": "https://issuer.example"}),
        ({}, {"iss": 5}),
        ({}, {"vc": "nope"}),
    ):
        with pytest.raises(vc_jwt.UntrustedJwtKey):
            vc_jwt.resolve_offline_jwt_key(header, body)


def test_embedded_jwk_header_round_trip() -> None:
    public = key("p256").public_key()
    payload = {**badge("p256"), "iss": issuer_did("p256")}
    s = signer("p256")
    token = jose.sign_compact(
        json.dumps(payload).encode(), {"typ": "JWT", "jwk": public.to_jwk()}, s
    )
    assert verify(token).profile == "ob3-jwt"
    intruder = generate("p256")
    token = jose.sign_compact(
        json.dumps(payload).encode(),
        {"typ": "JWT", "jwk": intruder.public_key().to_jwk()},
        KeySigner.for_key(intruder),
    )
    with pytest.raises(vc_jwt.UntrustedJwtKey):
        verify(token)


# --- interop with jwcrypto -----------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("profile", ["ob3", "vc+jwt"])
def test_jwcrypto_verifies_our_jwts(key_type: KeyType, profile: Literal["ob3", "vc+jwt"]) -> None:
    credential = badge(key_type)
    token = vc_jwt.sign_credential_jwt(
        credential, signer=signer(key_type), profile=profile, now=NOW
    )
    public = jwcrypto_jwk.JWK(**key(key_type).public_key().to_jwk())
    theirs = jwcrypto_jwt.JWT(
        jwt=token, key=public, algs=[ALGORITHMS[key_type]], check_claims=False
    )
    claims = json.loads(theirs.claims)
    assert {k: v for k, v in claims.items() if k in credential} == credential


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("typ", ["vc+jwt", "JWT"])
def test_we_verify_jwcrypto_jwts(key_type: KeyType, typ: str) -> None:
    credential = badge(key_type)
    payload = {**credential, "iss": issuer_did(key_type), "nbf": 1735689600}
    token = jwcrypto_jwt.JWT(
        header={"alg": ALGORITHMS[key_type], "typ": typ, "kid": signer(key_type).key_id},
        claims=json.dumps(payload),
    )
    token.make_signed_token(jwcrypto_jwk.JWK(**key(key_type).to_jwk()))
    result = verify(token.serialize())
    assert result.profile == ("vc+jwt" if typ == "vc+jwt" else "ob3-jwt")
    assert result.credential == credential
    assert result.claims == {"iss": issuer_did(key_type), "nbf": 1735689600}


@pytest.mark.parametrize(
    "jwk_text",
    [
        b"[" * 6000,  # would blow the recursion limit of a plain json parser
        b'{"kty":"OKP","kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}',
        b'"just a string"',
        b"\xff\xfe",
    ],
)
def test_hostile_did_jwk_kid(jwk_text: bytes) -> None:
    kid = "did:jwk:" + base64url.encode(jwk_text) + "#0"
    with pytest.raises(vc_jwt.UntrustedJwtKey):
        vc_jwt.resolve_offline_jwt_key({"kid": kid}, {})
    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": kid}, badge(), key("ed25519").sign)
    with pytest.raises(vc_jwt.UntrustedJwtKey):
        verify(token)


@pytest.mark.parametrize("value", [b"1e400", b"-1e400", b"99999999999999999999", b"null", b"[1]"])
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("wrap", [False, True])
def test_numeric_dates_out_of_range(value: bytes, claim: str, wrap: bool) -> None:
    credential = json.dumps(badge()).encode()
    document = b'{"vc":' + credential + b"," if wrap else credential[:-1] + b","
    body = (
        document
        + b'"iss":"'
        + issuer_did("ed25519").encode()
        + b'","'
        + claim.encode()
        + b'":'
        + value
        + b"}"
    )
    token = forge(
        {"alg": "EdDSA", "typ": "JWT", "kid": signer("ed25519").key_id}, body, key("ed25519").sign
    )
    with pytest.raises(vc_jwt.InvalidJwtClaims):
        verify(token)
