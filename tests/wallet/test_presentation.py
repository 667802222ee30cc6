"""The presentation building blocks (``wallet/presentation.py``) as plain functions: credentials
and a Signer in, a presentation out, verified by Taito's verifier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.inputs import open_badge
from keys import data_integrity, sd_jwt
from keys.did import did_jwk, did_key
from keys.jwk import generate
from keys.signing import KeySigner
from schemas.contexts import ContextCache
from schemas.vcdm import BASE_CONTEXT_V1, BASE_CONTEXT_V2
from verifier.credential import VerifyOptions, verify_credential
from wallet.presentation import (
    DATA_INTEGRITY_CONTEXT,
    Binding,
    bound_key,
    data_integrity_presentation,
    disclosed_only,
    presentation_context,
    sd_jwt_presentation,
)
from wallet.share_errors import NotPresentable

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ISSUER = generate("ed25519")
HOLDER_P256 = generate("p256")
HOLDER_ED25519 = generate("ed25519")
DISCLOSABLE = [
    "/given_name",
    "/family_name",
    "/email",
    "/achievement/name",
    "/achievement/ects_credits",
    "/achievement/eqf_level",
]
CLAIMS: dict[str, Any] = {
    "iss": did_key(ISSUER.public_key()),
    "iat": int(NOW.timestamp()) - 60,
    "vct": "https://uni.example/vct/learning-credential/v1",
    "given_name": "Aino",
    "family_name": "Virtanen",
    "email": "aino@example.fi",
    "achievement": {"name": "Data Science", "ects_credits": 5, "eqf_level": 6},
}


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Any:
    directory = tmp_path_factory.mktemp("contexts")
    ContextCache(directory).sync_from_dir(shared / "contexts")
    return ContextCache(directory).loader()


def _sd_jwt(holder: Any) -> str:
    return sd_jwt.issue(
        CLAIMS,
        signer=KeySigner.for_key(ISSUER),
        disclosable=DISCLOSABLE,
        holder_key=holder.public_key(),
    )


def _revealed(token: str) -> set[str]:
    result = sd_jwt.verify(
        token,
        resolve_issuer_key=lambda _h, _p: ISSUER.public_key(),
        now=NOW,
        expected_nonce="n-1",
        expected_audience="https://employer.example",
    )
    return {k for k in ("given_name", "family_name", "email") if k in result.claims} | {
        f"achievement/{k}" for k in result.claims.get("achievement", {})
    }


@settings(max_examples=25, deadline=None)
@given(
    subset=st.lists(st.sampled_from(DISCLOSABLE), unique=True),
    holder=st.sampled_from([HOLDER_P256, HOLDER_ED25519]),
)
def test_any_subset_verifies_and_reveals_exactly_it(subset: list[str], holder: Any) -> None:
    token = sd_jwt_presentation(
        _sd_jwt(holder),
        reveal=subset,
        signer=KeySigner.for_key(holder),
        nonce="n-1",
        audience="https://employer.example",
        iat=NOW,
    )
    assert _revealed(token) == {p.lstrip("/") for p in subset}


def test_a_share_link_keeps_the_chosen_disclosures_without_key_binding() -> None:
    token = disclosed_only(_sd_jwt(HOLDER_P256), ["/achievement/name"])
    assert token.endswith("~")  # no KB-JWT
    result = sd_jwt.verify(token, resolve_issuer_key=lambda _h, _p: ISSUER.public_key(), now=NOW)
    assert result.claims["achievement"] == {"name": "Data Science"}
    assert "given_name" not in result.claims


def test_bound_key_of_each_format() -> None:
    token = _sd_jwt(HOLDER_P256)
    assert bound_key(token) == Binding(HOLDER_P256.public_key(), None)
    for did in (did_key(HOLDER_ED25519.public_key()), did_jwk(HOLDER_ED25519.public_key())):
        badge = open_badge(did_key(ISSUER.public_key()))
        badge["credentialSubject"]["id"] = did
        assert bound_key(badge) == Binding(HOLDER_ED25519.public_key(), did)
    badge = open_badge(did_key(ISSUER.public_key()))
    badge["credentialSubject"]["id"] = "did:web:learner.example"
    assert bound_key(badge) is None  # not a key the wallet can match offline
    del badge["credentialSubject"]["id"]
    assert bound_key(badge) is None
    unbound = sd_jwt.issue(CLAIMS, signer=KeySigner.for_key(ISSUER), disclosable=DISCLOSABLE)
    assert bound_key(unbound) is None


def test_presentation_context_follows_the_credentials() -> None:
    assert presentation_context([{"@context": [BASE_CONTEXT_V2, "x"]}]) == [BASE_CONTEXT_V2]
    assert presentation_context([{"@context": [BASE_CONTEXT_V1]}]) == [
        BASE_CONTEXT_V1,
        DATA_INTEGRITY_CONTEXT,
    ]
    with pytest.raises(NotPresentable):
        presentation_context([{"@context": [BASE_CONTEXT_V1]}, {"@context": [BASE_CONTEXT_V2]}])


@pytest.mark.parametrize(
    ("holder", "suite"), [(HOLDER_P256, "ecdsa-rdfc-2019"), (HOLDER_ED25519, "eddsa-rdfc-2022")]
)
def test_data_integrity_presentation_verifies_with_its_challenge(
    loader: Any, holder: Any, suite: str
) -> None:
    holder_did = did_key(holder.public_key())
    badge = open_badge(did_key(ISSUER.public_key()))
    badge["credentialSubject"]["id"] = holder_did
    signed = data_integrity.add_proof(
        badge,
        signer=KeySigner.for_key(ISSUER),
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=NOW - timedelta(days=1),
    )
    vp = data_integrity_presentation(
        [signed],
        holder=holder_did,
        signer=KeySigner.for_key(holder),
        cryptosuite=suite,
        loader=loader,
        challenge="c-1",
        domain="employer.example",
        created=NOW,
        presentation_id="urn:uuid:3f1c1d6e-0d1a-4c51-9b8e-6a4d7d0c2b11",
    )
    assert vp["verifiableCredential"] == [signed]  # embedded exactly as signed

    def options(**extra: Any) -> VerifyOptions:
        return VerifyOptions(now=NOW, loader=loader, **extra)

    report = verify_credential(vp, options(challenge="c-1", domain="employer.example"))
    assert report.verified, report.to_json()
    assert report.check("holder_binding").status == "passed"  # type: ignore[union-attr]
    assert not verify_credential(vp, options(challenge="c-2", domain="employer.example")).verified
    assert not verify_credential(vp, options(challenge="c-1", domain="other.example")).verified
    with pytest.raises(NotPresentable):
        data_integrity_presentation(
            [],
            holder=holder_did,
            signer=KeySigner.for_key(holder),
            cryptosuite=suite,
            loader=loader,
            challenge="c-1",
            domain=None,
            created=NOW,
            presentation_id="urn:uuid:x",
        )
