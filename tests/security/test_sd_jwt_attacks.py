"""SD-JWT attacks (RFC 9901 §9): replayed or misdirected key binding, forged disclosures."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from keys import base64url, sd_jwt
from keys.signing import KeySigner
from tests.security.conftest import NOW, checks, did_of, options, signer
from verifier.context import VerifierContext
from verifier.credential import verify_credential

VERIFIER = "https://employer.example"
NONCE = "n-7f3a9c"


def _issue(issuer: KeySigner, holder: KeySigner | None = None) -> str:
    claims: dict[str, Any] = {
        "vct": "https://uni.example/vct/learning-credential/v1",
        "iss": did_of(issuer),
        "iat": int(NOW.timestamp()) - 3600,
        "achievement": {"name": "Welding, level 2", "ects": 5},
        "given_name": "Aino",
    }
    return sd_jwt.issue(
        claims,
        signer=issuer,
        disclosable=["/achievement/name", "/achievement/ects", "/given_name"],
        holder_key=holder.key.public_key() if holder else None,
    )


def _present(token: str, holder: KeySigner, **kb: Any) -> str:
    binding = {"nonce": NONCE, "audience": VERIFIER, "iat": NOW, **kb}
    return sd_jwt.present(token, reveal=["/achievement/name"], holder=holder, **binding)


def _verify(verifier: VerifierContext, presentation: str) -> dict[str, tuple[str, str]]:
    report = verify_credential(
        presentation,
        options(verifier, nonce=NONCE, audience=VERIFIER, require_key_binding=True),
    )
    return checks(report)


def test_genuine_presentation_verifies(verifier: VerifierContext) -> None:
    holder = signer("p256")
    result = _verify(verifier, _present(_issue(signer(), holder), holder))
    assert result["holder_binding"] == ("passed", "ok")
    assert result["proof"] == ("passed", "ok")


def test_replayed_kb_jwt_with_stale_iat_is_refused(verifier: VerifierContext) -> None:
    holder = signer("p256")
    stale = _present(_issue(signer(), holder), holder, iat=NOW - timedelta(hours=1))
    assert _verify(verifier, stale)["holder_binding"] == ("failed", "kb_iat_out_of_window")


def test_kb_jwt_for_another_audience_is_refused(verifier: VerifierContext) -> None:
    holder = signer("p256")
    other = _present(_issue(signer(), holder), holder, audience="https://other-rp.example")
    assert _verify(verifier, other)["holder_binding"] == ("failed", "kb_audience_mismatch")


def test_kb_jwt_for_another_nonce_is_refused(verifier: VerifierContext) -> None:
    holder = signer("p256")
    other = _present(_issue(signer(), holder), holder, nonce="n-of-another-session")
    assert _verify(verifier, other)["holder_binding"] == ("failed", "kb_nonce_mismatch")


def test_presentation_without_kb_jwt_is_refused_when_binding_is_required(
    verifier: VerifierContext,
) -> None:
    holder = signer("p256")
    bare = sd_jwt.present(_issue(signer(), holder), reveal=["/achievement/name"])
    assert _verify(verifier, bare)["holder_binding"] == ("failed", "kb_required")


def test_kb_jwt_signed_by_someone_else_than_the_holder_is_refused(
    verifier: VerifierContext,
) -> None:
    holder, thief = signer("p256"), signer("p256")
    token = _issue(signer(), holder)
    stolen = _present(token, thief)
    assert _verify(verifier, stolen)["holder_binding"] == ("failed", "kb_invalid_signature")


def _disclosure(salt: str, name: str, value: Any) -> str:
    return base64url.encode(json.dumps([salt, name, value]).encode())


def test_forged_disclosure_value_is_refused(verifier: VerifierContext) -> None:
    """A genuine disclosure with its value changed no longer matches any digest."""
    token = _issue(signer())
    jwt, *disclosures, _ = token.split("~")
    forged = []
    for encoded in disclosures:
        salt, name, value = json.loads(base64url.decode(encoded))
        forged.append(_disclosure(salt, name, "Rocket science" if name == "name" else value))
    report = verify_credential("~".join([jwt, *forged, ""]), options(verifier))
    assert checks(report)["proof"] == ("failed", "unreferenced_disclosure")


def test_duplicated_disclosure_is_refused(verifier: VerifierContext) -> None:
    token = _issue(signer())
    jwt, first, *rest = token.split("~")
    report = verify_credential("~".join([jwt, first, first, *rest]), options(verifier))
    assert checks(report)["proof"] == ("failed", "duplicate_disclosure")


def test_unreferenced_disclosure_is_refused(verifier: VerifierContext) -> None:
    """A well-formed disclosure the issuer never signed a digest for (RFC 9901 §7.1 step 5)."""
    token = _issue(signer())
    smuggled = _disclosure("c2FsdHNhbHRzYWx0", "degree", "PhD")
    report = verify_credential(token + smuggled + "~", options(verifier))
    assert checks(report)["proof"] == ("failed", "unreferenced_disclosure")


def test_disclosure_from_another_credential_is_refused(verifier: VerifierContext) -> None:
    """Mix-and-match: a disclosure cut from the learner's other SD-JWT of the same issuer."""
    issuer = signer()
    mine, theirs = _issue(issuer), _issue(issuer)
    jwt = mine.split("~")[0]
    borrowed = theirs.split("~")[1:]
    report = verify_credential("~".join([jwt, *borrowed]), options(verifier))
    assert checks(report)["proof"] == ("failed", "unreferenced_disclosure")


def test_sd_jwt_issued_by_a_signed_by_b_is_refused(verifier: VerifierContext) -> None:
    """Issuer/key mismatch: iss is A's DID, the kid and signature are B's."""
    a, b = signer(), signer()
    claims = {"vct": "https://uni.example/vct/x", "iss": did_of(a), "iat": int(NOW.timestamp())}
    token = sd_jwt.issue(claims, signer=b, disclosable=[], extra_header={"kid": b.key_id})
    report = verify_credential(token, options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "did_resolution")
