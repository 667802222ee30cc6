"""Data Integrity attacks (VC Data Integrity §5, VC 2.0 §8): contexts, terms, proofs, issuers."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from bench.inputs import open_badge
from keys import data_integrity
from keys.signing import KeySigner
from schemas.contexts import StaticLoader
from tests.security.conftest import NOW, Network, checks, did_of, options, signer
from verifier.context import VerifierContext
from verifier.credential import verify_credential

V2 = "https://www.w3.org/ns/credentials/v2"


def _sign(
    loader: StaticLoader,
    document: dict[str, Any],
    key: KeySigner,
    cryptosuite: str = "eddsa-rdfc-2022",
) -> dict[str, Any]:
    return data_integrity.add_proof(
        document, signer=key, cryptosuite=cryptosuite, loader=loader, created=NOW
    )


def test_genuine_credential_verifies(verifier: VerifierContext, loader: StaticLoader) -> None:
    signed = _sign(loader, open_badge(did_of(issuer := signer())), issuer)
    report = verify_credential(signed, options(verifier))
    assert report.verified, report.to_json()


def test_extra_remote_context_is_never_fetched(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    """Context injection: a context the verifier does not hold is refused, not downloaded."""
    signed = _sign(loader, open_badge(did_of(issuer := signer())), issuer)
    url = "https://attacker.example/contexts/v1.jsonld"
    network.serve(url, b'{"@context": {"name": "https://attacker.example/vocab#name"}}')
    signed["@context"] = [*signed["@context"], url]
    signed["proof"]["@context"] = signed["@context"]
    report = verify_credential(signed, options(verifier))
    assert checks(report)["proof"] == ("failed", "unknown_context")
    assert network.requests == []


def test_inline_context_redefining_a_protected_term_is_refused(
    verifier: VerifierContext, loader: StaticLoader
) -> None:
    """Context injection inline: ``name`` re-mapped after signing so it means something else."""
    document = open_badge(did_of(issuer := signer()))
    signed = _sign(loader, document, issuer)
    signed["@context"] = [*signed["@context"], {"name": "https://attacker.example/vocab#name"}]
    report = verify_credential(signed, options(verifier))
    assert checks(report)["schema"] == ("failed", "invalid_structure")
    assert "protected term 'name'" in report.check("schema").message  # type: ignore[union-attr]


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_undefined_term_added_after_signing_is_refused(
    verifier: VerifierContext, loader: StaticLoader, cryptosuite: str
) -> None:
    """Term smuggling: a member no context defines must not ride along a valid signature."""
    document = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": did_of(issuer := signer()),
        "credentialSubject": {"id": "did:example:learner"},
    }
    signed = _sign(loader, document, issuer, cryptosuite)
    signed["credentialSubject"]["honorisCausa"] = True
    report = verify_credential(signed, options(verifier))
    assert checks(report)["proof"] == ("failed", "undefined_term")


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_undefined_term_is_never_signed(loader: StaticLoader, cryptosuite: str) -> None:
    """The issuer side of term smuggling: nothing is signed that a verifier would drop."""
    document = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": did_of(issuer := signer()),
        "credentialSubject": {"id": "did:example:learner", "honorisCausa": True},
    }
    with pytest.raises(data_integrity.UndefinedTerm) as caught:
        _sign(loader, document, issuer, cryptosuite)
    assert caught.value.code == "undefined_term"


def test_proof_moved_onto_another_document_is_refused(
    verifier: VerifierContext, loader: StaticLoader
) -> None:
    """Proof transplant: the issuer's valid proof from one award put on a different one."""
    issuer = signer()
    mine = _sign(loader, open_badge(did_of(issuer)), issuer)
    other = open_badge(did_of(issuer))
    other["credentialSubject"]["id"] = "did:example:someone-else"
    other["proof"] = copy.deepcopy(mine["proof"])
    report = verify_credential(other, options(verifier))
    assert checks(report)["proof"] == ("failed", "invalid_signature")


def test_credential_naming_issuer_a_signed_by_b_is_refused(
    verifier: VerifierContext, loader: StaticLoader
) -> None:
    """Issuer/key mismatch: a valid proof, but by a key that is not the named issuer's."""
    a, b = signer(), signer()
    signed = _sign(loader, open_badge(did_of(a)), b)
    report = verify_credential(signed, options(verifier))
    assert checks(report)["proof"] == ("passed", "ok")
    assert checks(report)["issuer_key"] == ("failed", "issuer_key_mismatch")


def test_expired_credential_is_refused(verifier: VerifierContext, loader: StaticLoader) -> None:
    issuer = signer()
    document = {**open_badge(did_of(issuer)), "validUntil": "2026-11-01T00:00:00Z"}
    report = verify_credential(_sign(loader, document, issuer), options(verifier))
    assert checks(report)["validity_period"] == ("failed", "expired")


def test_not_yet_valid_credential_is_refused(
    verifier: VerifierContext, loader: StaticLoader
) -> None:
    issuer = signer()
    later = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {**open_badge(did_of(issuer)), "validFrom": later}
    report = verify_credential(_sign(loader, document, issuer), options(verifier))
    assert checks(report)["validity_period"] == ("failed", "not_yet_valid")


def test_presentation_replayed_with_another_challenge_is_refused(
    verifier: VerifierContext, loader: StaticLoader
) -> None:
    holder = signer()
    presentation = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "holder": did_of(holder),
    }
    signed = data_integrity.add_proof(
        presentation,
        signer=holder,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=NOW,
        proof_purpose="authentication",
        challenge="c-old",
        domain="https://employer.example",
    )
    report = verify_credential(
        signed, options(verifier, challenge="c-new", domain="https://employer.example")
    )
    assert checks(report)["presentation_proof"] == ("failed", "challenge_mismatch")
