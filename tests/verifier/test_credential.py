"""``verify_credential``: every format, and bad input as named failures (never an exception)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.inputs import open_badge
from keys import base64url, data_integrity, jwk, sd_jwt, vc_jwt
from keys.did import did_key
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader
from verifier.credential import VerifyOptions, verify_credential
from verifier.report import CHECK_IDS

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ISSUER = jwk.generate("ed25519")
SIGNER = KeySigner.for_key(ISSUER)
ISSUER_DID = did_key(ISSUER.public_key())
HOLDER = jwk.generate("p256")


@pytest.fixture(scope="module")
def loader(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> StaticLoader:
    shared: Path = request.getfixturevalue("shared")
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


@pytest.fixture
def options(loader: StaticLoader) -> VerifyOptions:
    return VerifyOptions(now=NOW, loader=loader)


def _badge(**changes: Any) -> dict[str, Any]:
    credential = open_badge(ISSUER_DID)
    credential.update(changes)
    return credential


def _signed(
    loader: StaticLoader, credential: dict[str, Any] | None = None, suite: str = "eddsa-rdfc-2022"
) -> dict[str, Any]:
    return data_integrity.add_proof(
        credential or _badge(),
        signer=SIGNER,
        cryptosuite=suite,
        loader=loader,
        created=NOW - timedelta(days=1),
    )


def _statuses(report: Any) -> dict[str, tuple[str, str]]:
    return {c.id: (c.status, c.code) for c in report.checks}


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_data_integrity_credential_verifies(
    loader: StaticLoader, options: VerifyOptions, suite: str
) -> None:
    report = verify_credential(_signed(loader, suite=suite), options)
    assert report.verified, report.to_json()
    assert report.format == "ldp_vc"
    assert _statuses(report)["proof"] == ("passed", "ok")
    assert report.issuer == {"id": ISSUER_DID, "name": "University of Example"}
    assert report.subject["achievement"]["name"] == "Introduction to Data Science"  # type: ignore[index]
    assert {c.id for c in report.checks} <= set(CHECK_IDS)


def test_json_text_and_bytes_are_read_the_same(
    loader: StaticLoader, options: VerifyOptions
) -> None:
    signed = _signed(loader)
    for data in (json.dumps(signed), json.dumps(signed).encode()):
        assert verify_credential(data, options).verified


def test_tampered_credential_fails_and_still_reports_validity(
    loader: StaticLoader, options: VerifyOptions
) -> None:
    signed = _signed(loader)
    signed["credentialSubject"]["achievement"]["name"] = "Advanced Data Science"
    report = verify_credential(signed, options)
    assert not report.verified
    checks = _statuses(report)
    assert checks["proof"] == ("failed", "invalid_signature")
    assert checks["issuer_key"] == ("skipped", "proof_failed")
    assert checks["validity_period"][0] == "passed"


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        (
            {"validFrom": "2025-09-01T00:00:00Z", "validUntil": "2026-01-31T00:00:00Z"},
            "expired",
            "The credential expired on 2026-01-31.",
        ),
        (
            {"validFrom": "2027-03-01T00:00:00Z"},
            "not_yet_valid",
            "The credential is not valid before 2027-03-01.",
        ),
    ],
)
def test_validity_period(
    loader: StaticLoader, options: VerifyOptions, changes: dict[str, str], code: str, message: str
) -> None:
    report = verify_credential(_signed(loader, _badge(**changes)), options)
    assert not report.verified
    check = report.check("validity_period")
    assert check is not None and (check.status, check.code, check.message) == (
        "failed",
        code,
        message,
    )
    assert _statuses(report)["proof"] == ("passed", "ok")


def test_signed_by_someone_else_is_an_issuer_key_failure(
    loader: StaticLoader, options: VerifyOptions
) -> None:
    other = KeySigner.for_key(jwk.generate("ed25519"))
    signed = data_integrity.add_proof(
        _badge(), signer=other, cryptosuite="eddsa-rdfc-2022", loader=loader, created=NOW
    )
    report = verify_credential(signed, options)
    assert _statuses(report)["proof"] == ("passed", "ok")
    assert _statuses(report)["issuer_key"] == ("failed", "issuer_key_mismatch")
    assert not report.verified


def test_status_entry_is_never_a_silent_pass(loader: StaticLoader, options: VerifyOptions) -> None:
    credential = _badge(
        credentialStatus={
            "id": "https://uni.example/status/1#42",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "42",
            "statusListCredential": "https://uni.example/status/1",
        }
    )
    report = verify_credential(_signed(loader, credential), options)
    assert _statuses(report)["status"] == ("warning", "status_not_checked")


@pytest.mark.parametrize("profile", ["ob3", "vc+jwt"])
@pytest.mark.parametrize("key_type", ["ed25519", "p256", "rsa"])
def test_jwt_credentials_verify(
    options: VerifyOptions, profile: str, key_type: jwk.KeyType
) -> None:
    key = KeySigner.for_key(jwk.generate(key_type))
    credential = open_badge(key.key_id.split("#")[0])
    token = vc_jwt.sign_credential_jwt(credential, signer=key, profile=profile, now=NOW)  # type: ignore[arg-type]
    report = verify_credential(token, options)
    assert report.verified, report.to_json()
    assert report.format == "jwt_vc"
    assert report.document["credentialSubject"] == credential["credentialSubject"]


def _sd_jwt(holder: jwk.PrivateKey | None = HOLDER) -> str:
    claims = {
        "vct": "https://taito.example/vct/learning-credential",
        "iss": ISSUER_DID,
        "iat": int(NOW.timestamp()) - 60,
        "given_name": "Aino",
        "achievement": {"name": "Data Science", "ects": 5},
    }
    return sd_jwt.issue(
        claims,
        signer=SIGNER,
        disclosable=["/given_name", "/achievement/ects"],
        holder_key=holder.public_key() if holder else None,
    )


def test_sd_jwt_with_key_binding(loader: StaticLoader) -> None:
    presentation = sd_jwt.present(
        _sd_jwt(),
        reveal=["/achievement/ects"],
        holder=KeySigner.for_key(HOLDER),
        nonce="n-1",
        audience="https://employer.example",
        iat=NOW,
    )
    options = VerifyOptions(
        now=NOW,
        loader=loader,
        nonce="n-1",
        audience="https://employer.example",
        require_key_binding=True,
    )
    report = verify_credential(presentation, options)
    assert report.verified, report.to_json()
    assert report.document["achievement"] == {"name": "Data Science", "ects": 5}
    assert "given_name" not in report.document
    assert _statuses(report)["holder_binding"] == ("passed", "ok")
    wrong = verify_credential(
        presentation,
        VerifyOptions(now=NOW, loader=loader, nonce="n-2", audience="https://employer.example"),
    )
    assert _statuses(wrong)["holder_binding"] == ("failed", "kb_nonce_mismatch")
    stale = verify_credential(
        presentation,
        VerifyOptions(
            now=NOW + timedelta(hours=1),
            loader=loader,
            nonce="n-1",
            audience="https://employer.example",
        ),
    )
    assert _statuses(stale)["holder_binding"] == ("failed", "kb_iat_out_of_window")


def test_presentation_with_challenge_and_domain(loader: StaticLoader) -> None:
    holder = KeySigner.for_key(jwk.generate("ed25519"))
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.key_id.split("#")[0],
        "verifiableCredential": [_signed(loader)],
    }
    signed = data_integrity.add_proof(
        presentation,
        signer=holder,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=NOW,
        proof_purpose="authentication",
        challenge="c-1",
        domain="https://employer.example",
    )
    good = verify_credential(
        signed,
        VerifyOptions(now=NOW, loader=loader, challenge="c-1", domain="https://employer.example"),
    )
    assert good.verified, good.to_json()
    assert good.format == "ldp_vp"
    assert [n.verified for n in good.nested] == [True]
    bad = verify_credential(
        signed,
        VerifyOptions(now=NOW, loader=loader, challenge="c-2", domain="https://employer.example"),
    )
    assert _statuses(bad)["presentation_proof"] == ("failed", "challenge_mismatch")
    signed["verifiableCredential"][0]["name"] = "Forged"
    forged = verify_credential(
        signed,
        VerifyOptions(now=NOW, loader=loader, challenge="c-1", domain="https://employer.example"),
    )
    assert not forged.verified
    assert _statuses(forged)["presentation_proof"] == ("failed", "invalid_signature")


def _jwt(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64url.encode(json.dumps(value).encode())

    return f"{part(header)}.{part(payload)}.{base64url.encode(signature)}"


def _hs256_with_public_key() -> str:
    public_jwk = ISSUER.public_key().to_jwk()
    header = {"alg": "HS256", "typ": "JWT", "kid": SIGNER.key_id}
    payload = {"iss": ISSUER_DID, **open_badge(ISSUER_DID)}
    signing_input = f"{base64url.encode(json.dumps(header).encode())}.{base64url.encode(json.dumps(payload).encode())}"
    mac = hmac.new(
        base64.urlsafe_b64decode(public_jwk["x"] + "="), signing_input.encode(), hashlib.sha256
    )
    return f"{signing_input}.{base64url.encode(mac.digest())}"


def _nested(depth: int) -> str:
    return '{"proof": {}, "a": ' + "[" * depth + "]" * depth + "}"


BAD_INPUTS: list[tuple[str, Any, str, str]] = [
    ("truncated JWT", "eyJhbGciOiJFZERTQSJ9.eyJpc3Mi", "format", "unsupported_format"),
    ("garbled JWT", "eyJhbGciOi.!!!.abc", "proof", "malformed_jws"),
    (
        "alg none",
        _jwt({"alg": "none", "typ": "JWT"}, {"iss": ISSUER_DID}, b""),
        "proof",
        "alg_not_allowed",
    ),
    ("HS256 with the public key", _hs256_with_public_key(), "proof", "alg_not_allowed"),
    ("10,000 segments", ".".join(["eyJhIjoxfQ"] * 10_000), "format", "unsupported_format"),
    ("oversized", b"{" + b" " * (2 * 1024 * 1024) + b"}", "format", "malformed_json"),
    ("duplicate keys", '{"proof": {}, "proof": {}}', "format", "malformed_json"),
    ("deep nesting", _nested(5000), "format", "malformed_json"),
    ("not JSON, not JWT", "hello world", "format", "unsupported_format"),
    ("JSON array", "[1, 2, 3]", "format", "unsupported_format"),
    ("truncated PNG", b"\x89PNG\r\n\x1a\n\x00\x00", "format", "malformed_png"),
    ("binary", b"\x00\xff\xfe binary", "format", "malformed_json"),
    ("no proof", json.dumps(open_badge(ISSUER_DID)), "format", "unsecured"),
    ("SD-JWT of tildes", "~" * 10_000, "proof", "malformed_sd_jwt"),
]


@pytest.mark.parametrize(
    ("name", "data", "check_id", "code"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_is_a_named_failure(
    options: VerifyOptions, name: str, data: Any, check_id: str, code: str
) -> None:
    report = verify_credential(data, options)
    assert not report.verified
    assert _statuses(report)[check_id] == ("failed", code), report.to_json()
    json.dumps(report.to_json())


def test_wrong_typ_and_unknown_context(loader: StaticLoader, options: VerifyOptions) -> None:
    token = vc_jwt.sign_credential_jwt(
        open_badge(ISSUER_DID), signer=SIGNER, profile="vc+jwt", now=NOW
    )
    header, rest = token.split(".", 1)
    retyped = base64url.encode(
        json.dumps({**json.loads(base64url.decode(header)), "typ": "kb+jwt"}).encode()
    )
    report = verify_credential(f"{retyped}.{rest}", options)
    assert _statuses(report)["proof"][0] == "failed"
    unknown = _signed(loader)
    unknown["@context"] = [*unknown["@context"], "https://evil.example/context.json"]
    report = verify_credential(unknown, options)
    assert _statuses(report)["proof"] == ("failed", "unknown_context")


def test_undefined_term_is_refused(loader: StaticLoader, options: VerifyOptions) -> None:
    signed = _signed(loader)
    signed["credentialSubject"]["smuggled"] = "not in any context"
    report = verify_credential(signed, options)
    assert _statuses(report)["proof"] == ("failed", "undefined_term")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=10), children, max_size=4)
            ),
            max_leaves=20,
        ),
    )
)
def test_arbitrary_input_never_raises(options: VerifyOptions, data: Any) -> None:
    if isinstance(data, dict):
        data = {**data, "proof": data.get("proof", {})}
    report = verify_credential(data, options)
    assert not report.verified


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_one_character_change_to_a_jwt_fails(
    options: VerifyOptions, position: int, replacement: str
) -> None:
    token = vc_jwt.sign_credential_jwt(
        open_badge(ISSUER_DID), signer=SIGNER, profile="ob3", now=NOW
    )
    index = position % len(token)
    if token[index] == replacement:
        return
    changed = token[:index] + replacement + token[index + 1 :]
    assert not verify_credential(changed, options).verified


def test_report_json_shape(loader: StaticLoader, options: VerifyOptions) -> None:
    body = verify_credential(copy.deepcopy(_signed(loader)), options).to_json()
    assert set(body) >= {"verified", "format", "issuer", "subject", "checks"}
    assert all(set(c) == {"id", "status", "code", "message"} for c in body["checks"])


def test_trusted_issuer_registry(loader: StaticLoader) -> None:
    from dataclasses import replace

    signed = _signed(loader)
    base = VerifyOptions(now=NOW, loader=loader)
    assert _statuses(verify_credential(signed, base))["issuer_trust"] == (
        "skipped",
        "no_trust_registry",
    )
    trusted = replace(base, trusted_issuers=frozenset({ISSUER_DID}))
    assert _statuses(verify_credential(signed, trusted))["issuer_trust"] == ("passed", "trusted")
    other = replace(base, trusted_issuers=frozenset({"did:web:other.example"}))
    report = verify_credential(signed, other)
    assert _statuses(report)["issuer_trust"] == ("warning", "issuer_not_trusted")
    assert report.verified  # a warning by default
    strict = replace(other, untrusted_is_failure=True)
    assert not verify_credential(signed, strict).verified
