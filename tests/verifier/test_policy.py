"""Verifier policy: accepted formats and algorithms, https JWT issuers, SSRF through did:web."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bench.inputs import open_badge
from keys import data_integrity, jwk, sd_jwt, vc_jwt
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader
from verifier.context import VerifierContext
from verifier.credential import VerifyOptions, verify_credential
from verifier.http import GuardedHttp, HttpPolicy
from verifier.resolver import DidResolver

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> StaticLoader:
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


def _checks(report: object) -> dict[str, tuple[str, str]]:
    return {c.id: (c.status, c.code) for c in report.checks}  # type: ignore[attr-defined]


def test_accepted_formats_and_algorithms(loader: StaticLoader) -> None:
    signer = KeySigner.for_key(jwk.generate("rsa"))
    token = vc_jwt.sign_credential_jwt(
        open_badge(signer.key_id.split("#")[0]), signer=signer, profile="ob3", now=NOW
    )
    base = VerifyOptions(now=NOW, loader=loader)
    assert verify_credential(token, base).verified
    only_ldp = verify_credential(token, replace(base, accepted_formats=frozenset({"ldp_vc"})))
    assert _checks(only_ldp)["format"] == ("failed", "format_not_accepted")
    assert [c.id for c in only_ldp.checks].count("format") == 1
    no_rsa = verify_credential(token, replace(base, algorithms=("EdDSA", "ES256")))
    assert _checks(no_rsa)["proof"] == ("failed", "alg_not_allowed")
    ed = KeySigner.for_key(jwk.generate("ed25519"))
    signed = data_integrity.add_proof(
        open_badge(ed.key_id.split("#")[0]),
        signer=ed,
        cryptosuite="eddsa-jcs-2022",
        loader=loader,
        created=NOW,
    )
    rdfc_only = verify_credential(signed, replace(base, cryptosuites=("eddsa-rdfc-2022",)))
    assert _checks(rdfc_only)["proof"][0] == "failed"


def test_https_jwt_issuer_through_its_metadata() -> None:
    key = jwk.generate("p256")
    issuer = "https://registry.example/tenant-7"
    public = {**key.public_key().to_jwk(), "kid": "k1"}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["host"] == "registry.example"
        if request.url.path == "/.well-known/jwt-vc-issuer/tenant-7":
            return httpx.Response(200, json={"issuer": issuer, "jwks": {"keys": [public]}})
        return httpx.Response(404)

    http = GuardedHttp(
        HttpPolicy(),
        transport=httpx.MockTransport(handler),
        resolver=lambda host, port: ["93.184.215.14"],
    )
    resolver = DidResolver(http)
    claims = {
        "vct": "https://registry.example/vct/learning",
        "iss": issuer,
        "iat": int(NOW.timestamp()),
        "achievement": {"name": "Welding, level 2"},
    }
    signer = KeySigner(key, "k1")
    token = sd_jwt.issue(claims, signer=signer, disclosable=["/achievement/name"])
    options = VerifyOptions(now=NOW, loader=None, jwt_key_resolver=resolver.jwt_issuer_key)
    report = verify_credential(token, options)
    assert report.verified, report.to_json()
    assert report.document["achievement"] == {"name": "Welding, level 2"}
    other = sd_jwt.issue(claims, signer=KeySigner(jwk.generate("p256"), "k2"), disclosable=[])
    refused = verify_credential(other, options)
    assert not refused.verified
    assert _checks(refused)["issuer_key"][0] == "failed"


@pytest.mark.parametrize("host", ["127.0.0.1%3A8000", "localhost", "169.254.169.254", "10.0.0.5"])
def test_did_web_to_private_addresses_is_blocked_by_default(
    loader: StaticLoader, host: str
) -> None:
    did = f"did:web:{host}"
    signer = KeySigner(jwk.generate("ed25519"), f"{did}#key-1")
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "credentialSubject": {"name": "x"},
    }
    signed = data_integrity.add_proof(
        credential, signer=signer, cryptosuite="eddsa-rdfc-2022", loader=loader, created=NOW
    )
    context = VerifierContext(loader=loader, http=GuardedHttp(HttpPolicy()))
    report = verify_credential(json.dumps(signed), replace(context.options(), now=NOW))
    assert not report.verified
    assert _checks(report)["issuer_key"] == ("failed", "verification_method")


def test_vp_jwt_with_enveloped_credentials(loader: StaticLoader) -> None:
    issuer = KeySigner.for_key(jwk.generate("ed25519"))
    holder = KeySigner.for_key(jwk.generate("p256"))
    token = vc_jwt.sign_credential_jwt(
        open_badge(issuer.key_id.split("#")[0]), signer=issuer, profile="vc+jwt", now=NOW
    )
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.key_id.split("#")[0],
        "verifiableCredential": [
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": f"data:application/vc+jwt,{token}",
                "type": "EnvelopedVerifiableCredential",
            }
        ],
    }
    vp = vc_jwt.sign_presentation_jwt(
        presentation, signer=holder, audience="https://employer.example", nonce="n-1", now=NOW
    )
    options = VerifyOptions(
        now=NOW, loader=loader, audience="https://employer.example", nonce="n-1"
    )
    report = verify_credential(vp, options)
    assert report.verified, report.to_json()
    assert report.format == "jwt_vp"
    assert _checks(report)["holder_binding"] == ("passed", "ok")
    assert [n.verified for n in report.nested] == [True]
    tampered = {
        **presentation,
        "verifiableCredential": [
            {
                **presentation["verifiableCredential"][0],
                "id": f"data:application/vc+jwt,{token[:-4]}AAAA",
            }
        ],
    }
    bad = vc_jwt.sign_presentation_jwt(
        tampered, signer=holder, audience="https://employer.example", nonce="n-1", now=NOW
    )
    assert _checks(verify_credential(bad, options))["nested"] == ("failed", "nested_failed")


def test_operator_policy_from_settings_reaches_every_verification(
    tmp_path: Path, loader: StaticLoader
) -> None:
    from taito.app import create_app
    from taito.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        context_dir=tmp_path / "contexts",
        verifier_formats=["ldp_vc", "dc+sd-jwt"],
        verifier_algorithms=["EdDSA"],
        verifier_cryptosuites=["eddsa-rdfc-2022"],
        verifier_clock_skew_seconds=5,
        verifier_unknown_status_is_warning=True,
    )
    context = create_app(settings).state.verifier
    assert context.status_policy.unknown_status_is_warning
    assert context.status_policy.clock_skew.total_seconds() == 5
    options = context.options()
    assert options.accepted_formats == frozenset({"ldp_vc", "dc+sd-jwt"})
    assert options.algorithms == ("EdDSA",)
    assert options.cryptosuites == ("eddsa-rdfc-2022",)
    assert options.clock_skew.total_seconds() == 5
    signer = KeySigner.for_key(jwk.generate("ed25519"))
    token = vc_jwt.sign_credential_jwt(
        open_badge(signer.key_id.split("#")[0]), signer=signer, profile="ob3", now=NOW
    )
    report = verify_credential(token, replace(options, loader=loader))
    assert _checks(report)["format"] == ("failed", "format_not_accepted")


@pytest.mark.parametrize(
    "policy",
    [
        {"verifier_formats": ["ldp_vc", "pdf"]},
        {"verifier_algorithms": ["none"]},
        {"verifier_algorithms": ["HS256"]},
        {"verifier_cryptosuites": ["bbs-2023"]},
    ],
)
def test_unknown_policy_names_refuse_to_start(tmp_path: Path, policy: dict[str, list[str]]) -> None:
    from taito.app import create_app
    from taito.settings import ConfigurationError, Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        context_dir=tmp_path / "contexts",
        **policy,  # type: ignore[arg-type]
    )
    with pytest.raises(ConfigurationError, match="Unknown names in the verifier policy"):
        create_app(settings)
