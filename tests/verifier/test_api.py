"""``POST /verifier/verify`` over real HTTP: did:web, status lists and every input kind."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from keys import data_integrity, jwk, sd_jwt
from keys.signing import KeySigner
from schemas.contexts import ContextCache
from tests.verifier.conftest import Live
from verifier.context import VerifierContext
from verifier.credential import verify_credential
from verifier.http import GuardedHttp, HttpPolicy


def _verify(live: Live, **kwargs: object) -> dict[str, object]:
    response = live.http.post("/verifier/verify", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return dict(response.json())


def _checks(report: dict[str, object]) -> dict[str, tuple[str, str]]:
    return {c["id"]: (c["status"], c["code"]) for c in report["checks"]}  # type: ignore[index,union-attr]


def test_did_web_credential_verifies_and_revocation_is_seen(live: Live) -> None:
    issued = live.issue(["ob3-di", "ob3-jwt"])
    for credential in issued["formats"].values():
        body = {"credential": credential}
        report = _verify(live, json=body)
        assert report["verified"] is True, report["checks"]
        assert _checks(report)["status"] == ("passed", "not_revoked")
        assert _checks(report)["issuer_key"][0] == "passed"
    revoked = live.http.post(
        f"/issuers/live/credentials/{issued['id']}/revoke", headers=live.issuing
    )
    assert revoked.status_code == 200
    live.forget()
    report = _verify(live, json=issued["formats"]["ob3-di"])
    assert report["verified"] is False
    assert _checks(report)["status"] == ("failed", "revoked")
    token = _verify(
        live, content=issued["formats"]["ob3-jwt"], headers={"content-type": "application/vc+jwt"}
    )
    assert _checks(token)["status"] == ("failed", "revoked")


def test_sd_jwt_presentation_with_status_and_key_binding(live: Live) -> None:
    holder = jwk.generate("p256")
    issued = live.issue(["sd-jwt-vc"], holder_jwk=holder.public_key().to_jwk())
    presentation = sd_jwt.present(
        issued["formats"]["sd-jwt-vc"],
        reveal=["/achievement/name"],
        holder=KeySigner.for_key(holder),
        nonce="n-1",
        audience="https://employer.example",
        iat=datetime.now(UTC),
    )
    good = _verify(
        live,
        json={"credential": presentation, "nonce": "n-1", "audience": "https://employer.example"},
    )
    assert good["verified"] is True, good
    assert _checks(good)["holder_binding"] == ("passed", "ok")
    assert _checks(good)["status"][0] == "passed"
    stale = _verify(
        live,
        json={"credential": presentation, "nonce": "n-2", "audience": "https://employer.example"},
    )
    assert _checks(stale)["holder_binding"] == ("failed", "kb_nonce_mismatch")
    live.http.post(f"/issuers/live/credentials/{issued['id']}/suspend", headers=live.issuing)
    live.forget()
    suspended = _verify(
        live,
        json={"credential": presentation, "nonce": "n-1", "audience": "https://employer.example"},
    )
    assert _checks(suspended)["status"] == ("failed", "suspended")


def test_baked_badge_upload(live: Live) -> None:
    issued = live.issue(["ob3-di"])
    png = live.http.get(
        f"/issuers/live/credentials/{issued['id']}/image.png", headers=live.issuing
    ).content
    report = _verify(live, files={"file": ("badge.png", png, "image/png")})
    assert report["verified"] is True, report
    assert report["notes"][0].startswith("The credential was extracted from a baked PNG")  # type: ignore[index]
    plain = _verify(
        live, content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, headers={"content-type": "image/png"}
    )
    assert plain["verified"] is False
    assert _checks(plain)["format"][0] == "failed"


def test_bad_inputs_are_named_failures(live: Live) -> None:
    oversized = live.http.post(
        "/verifier/verify",
        content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert oversized.status_code == 413
    assert oversized.json()["code"] == "payload_too_large"
    deep = _verify(
        live,
        content=b'{"a":' * 5000 + b"1" + b"}" * 5000,
        headers={"content-type": "application/json"},
    )
    assert _checks(deep)["format"] == ("failed", "malformed_json")
    ob2 = _verify(
        live, json={"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "x"}
    )
    assert _checks(ob2)["format"] == ("failed", "unsupported_format")
    segments = _verify(
        live, content=".".join(["eyJhIjoxfQ"] * 10_000), headers={"content-type": "text/plain"}
    )
    assert _checks(segments)["format"] == ("failed", "unsupported_format")
    empty = live.http.post("/verifier/verify", files={"other": ("x", b"", "text/plain")})
    assert empty.status_code == 422


def test_ssrf_through_did_web_is_blocked(shared: Path) -> None:
    """A did:web issuer at the cloud metadata address is refused by the default policy."""
    contexts = ContextCache(shared / "contexts")
    strict = VerifierContext(loader=contexts.loader(), http=GuardedHttp(HttpPolicy()))
    key = KeySigner(jwk.generate("ed25519"), "did:web:169.254.169.254#key-1")
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:169.254.169.254",
        "credentialSubject": {"name": "x"},
    }
    signed = data_integrity.add_proof(
        credential,
        signer=key,
        cryptosuite="eddsa-rdfc-2022",
        loader=strict.loader,
        created=datetime.now(UTC),
    )
    started = time.monotonic()
    report = verify_credential(json.dumps(signed), strict.options())
    assert time.monotonic() - started < 10
    issuer_key = report.check("issuer_key")
    assert issuer_key is not None and issuer_key.status == "failed"
    assert "non-public address" in issuer_key.message
