"""Data Integrity ``eddsa-rdfc-2022`` against Digital Bazaar's stack (@digitalbazaar/vc 7.3.0).

Both directions, for an Open Badges 3.0 credential and for a presentation carrying it:

* what Taito signs, ``vc.verifyCredential`` / ``vc.verify`` accept, and reject once tampered;
* what Digital Bazaar signs, :func:`keys.data_integrity.verify_proofs` accepts, and rejects once
  tampered, each failure checked by its reason, not only by "it failed".

Keys are made by Taito and handed to Node as Multikey strings, so Digital Bazaar's Multikey
parser and did:key resolver are exercised on Taito's encodings too. Each test runs one Node
process for its batch of jobs (see ``di.mjs``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keys import multikey
from keys.data_integrity import add_proof, verify_proofs
from keys.data_integrity.errors import ChallengeMismatch, DomainMismatch, ProofInvalidSignature
from keys.did import did_key, resolve_offline
from keys.jwk import PrivateKey, generate
from keys.signing import KeySigner
from tests.interop.conftest import NodeRunner, ok, ref

pytestmark = pytest.mark.interop

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CREATED = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 2, 9, 30, 0, tzinfo=UTC)
NOW_ISO = "2025-06-02T09:30:00Z"
CHALLENGE = "4b0f8d2c-6b7e-4f55-9d0e-6c1c1f6e7a10"
DOMAIN = "https://verifier.taito.example"


@pytest.fixture(scope="module")
def loader(shared_contexts: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Taito's own static loader: a context cache built from the shared folder."""
    from schemas.contexts import ContextCache

    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared_contexts)
    return cache.loader()


@pytest.fixture(scope="module")
def issuer_key() -> PrivateKey:
    return generate("ed25519")


@pytest.fixture(scope="module")
def holder_key() -> PrivateKey:
    return generate("ed25519")


def multikey_pair(key: PrivateKey) -> dict[str, str]:
    return {
        "publicKeyMultibase": multikey.encode_public(key.public_key()),
        "secretKeyMultibase": multikey.encode_private(key),
    }


def open_badge(issuer: PrivateKey, holder: PrivateKey) -> dict[str, Any]:
    """An OB 3.0 OpenBadgeCredential as an issuer would make it (VCDM 2.0, OB 3.0.3 context)."""
    return {
        "@context": [VC_V2, OB_V3P0],
        "id": "urn:uuid:2b4a1f0e-7d9c-4c1e-8f3a-5e6d7c8b9a01",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Data Integrity Interop Badge",
        "issuer": {
            "id": did_key(issuer.public_key()),
            "type": ["Profile"],
            "name": "Taito Interop University",
            "url": "https://university.taito.example",
        },
        "validFrom": "2025-01-15T00:00:00Z",
        "credentialSubject": {
            "id": did_key(holder.public_key()),
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://university.taito.example/achievements/rdf-canon",
                "type": ["Achievement"],
                "name": "RDF Dataset Canonicalization",
                "description": "Canonicalizes RDF datasets and signs them with eddsa-rdfc-2022.",
                "criteria": {
                    "narrative": "Signed a credential that an independent implementation verified."
                },
            },
        },
    }


def presentation_of(holder: PrivateKey, *credentials: dict[str, Any]) -> dict[str, Any]:
    presentation: dict[str, Any] = {
        "@context": [VC_V2],
        "id": "urn:uuid:9c8e7a6b-5d4c-4b3a-9f2e-1d0c9b8a7f60",
        "type": ["VerifiablePresentation"],
        "holder": did_key(holder.public_key()),
    }
    if credentials:
        presentation["verifiableCredential"] = list(credentials)
    return presentation


def tamper_achievement_name(credential: dict[str, Any]) -> dict[str, Any]:
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["achievement"]["name"] = "RDF Dataset Canonicalisation"
    return tampered


def messages(result: dict[str, Any]) -> list[str]:
    return [e["message"] for e in result["errors"]]


# -- credentials -------------------------------------------------------------------------------


def test_taito_signed_open_badge_verifies_in_digitalbazaar(
    node_di: NodeRunner, loader: Any, issuer_key: PrivateKey, holder_key: PrivateKey
) -> None:
    signed = add_proof(
        open_badge(issuer_key, holder_key),
        signer=KeySigner.for_key(issuer_key),
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=CREATED,
    )
    assert signed["proof"]["type"] == "DataIntegrityProof"
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"

    good, tampered = node_di(
        [
            {"op": "verify-credential", "credential": signed, "now": NOW_ISO},
            {
                "op": "verify-credential",
                "credential": tamper_achievement_name(signed),
                "now": NOW_ISO,
            },
        ]
    )
    assert ok(good)["verified"] is True, messages(good)
    assert good["errors"] == []
    assert ok(tampered)["verified"] is False
    assert messages(tampered) == ["Invalid signature."]


def test_digitalbazaar_signed_open_badge_verifies_in_taito(
    node_di: NodeRunner, loader: Any, issuer_key: PrivateKey, holder_key: PrivateKey
) -> None:
    credential = open_badge(issuer_key, holder_key)
    (issued,) = node_di(
        [
            {
                "op": "issue",
                "credential": credential,
                "key": multikey_pair(issuer_key),
                "created": "2025-06-01T12:00:00Z",
            }
        ]
    )
    signed = ok(issued)["document"]
    method_id = (
        f"{did_key(issuer_key.public_key())}#{multikey.encode_public(issuer_key.public_key())}"
    )
    assert signed["proof"]["verificationMethod"] == method_id
    assert signed["proof"]["proofPurpose"] == "assertionMethod"
    # Digital Bazaar adds nothing but the proof.
    assert {k: v for k, v in signed.items() if k != "proof"} == credential

    verified = verify_proofs(signed, resolve_key=resolve_offline, loader=loader, now=NOW)
    assert len(verified) == 1

    with pytest.raises(ProofInvalidSignature) as caught:
        verify_proofs(
            tamper_achievement_name(signed), resolve_key=resolve_offline, loader=loader, now=NOW
        )
    assert caught.value.code == "invalid_signature"


# -- presentations -----------------------------------------------------------------------------


def test_taito_signed_presentation_verifies_in_digitalbazaar(
    node_di: NodeRunner, loader: Any, issuer_key: PrivateKey, holder_key: PrivateKey
) -> None:
    credential = add_proof(
        open_badge(issuer_key, holder_key),
        signer=KeySigner.for_key(issuer_key),
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=CREATED,
    )
    presentation = add_proof(
        presentation_of(holder_key, credential),
        signer=KeySigner.for_key(holder_key),
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=CREATED,
        proof_purpose="authentication",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    assert presentation["proof"]["challenge"] == CHALLENGE
    assert presentation["proof"]["domain"] == DOMAIN

    good, wrong_challenge, wrong_domain = node_di(
        [
            {
                "op": "verify-presentation",
                "presentation": presentation,
                "challenge": CHALLENGE,
                "domain": DOMAIN,
                "now": NOW_ISO,
            },
            {
                "op": "verify-presentation",
                "presentation": presentation,
                "challenge": "another-challenge",
                "domain": DOMAIN,
                "now": NOW_ISO,
            },
            {
                "op": "verify-presentation",
                "presentation": presentation,
                "challenge": CHALLENGE,
                "domain": "https://other-verifier.example",
                "now": NOW_ISO,
            },
        ]
    )
    assert ok(good)["verified"] is True, messages(good)
    assert good["presentationVerified"] is True
    assert good["credentialsVerified"] == [True]
    assert good["errors"] == []

    assert ok(wrong_challenge)["verified"] is False
    assert wrong_challenge["presentationVerified"] is False
    assert wrong_challenge["credentialsVerified"] == [True]
    assert messages(wrong_challenge) == [
        f'The challenge is not as expected; challenge="{CHALLENGE}", expected="another-challenge"'
    ]
    assert ok(wrong_domain)["verified"] is False
    assert messages(wrong_domain) == [
        f'The domain is not as expected; domain="{DOMAIN}", '
        'expected="https://other-verifier.example"'
    ]


def test_digitalbazaar_signed_presentation_verifies_in_taito(
    node_di: NodeRunner, loader: Any, issuer_key: PrivateKey, holder_key: PrivateKey
) -> None:
    issued, presented = node_di(
        [
            {
                "op": "issue",
                "credential": open_badge(issuer_key, holder_key),
                "key": multikey_pair(issuer_key),
                "created": "2025-06-01T12:00:00Z",
            },
            {
                "op": "sign-presentation",
                "presentation": presentation_of(holder_key),  # + the credential of job 0
                "credential": ref(0, "document"),
                "key": multikey_pair(holder_key),
                "challenge": CHALLENGE,
                "domain": DOMAIN,
                "created": "2025-06-01T12:05:00Z",
            },
        ]
    )
    credential = ok(issued)["document"]
    presentation = ok(presented)["document"]
    assert presentation["proof"]["proofPurpose"] == "authentication"
    assert presentation["proof"]["challenge"] == CHALLENGE
    assert presentation["proof"]["domain"] == DOMAIN

    verified = verify_proofs(
        presentation,
        resolve_key=resolve_offline,
        loader=loader,
        now=NOW,
        expected_purpose="authentication",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    assert len(verified) == 1
    assert presentation["verifiableCredential"] == [credential]
    assert len(verify_proofs(credential, resolve_key=resolve_offline, loader=loader, now=NOW)) == 1

    for challenge, domain, error in [
        ("another-challenge", DOMAIN, ChallengeMismatch),
        (CHALLENGE, "https://other-verifier.example", DomainMismatch),
    ]:
        with pytest.raises(error):
            verify_proofs(
                presentation,
                resolve_key=resolve_offline,
                loader=loader,
                now=NOW,
                expected_purpose="authentication",
                challenge=challenge,
                domain=domain,
            )
