"""SD-JWT VC interop with the reference implementation, PyPI ``sd-jwt`` 0.10.4 (jwcrypto inside).

Its notes (INTEROP.md): ES256 only for the KB-JWT; no exp/nbf/typ/vct checks; issuer ``typ``
defaults to ``example+sd-jwt`` (set ``dc+sd-jwt`` here); unreferenced Disclosures are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import pytest

from keys.jwk import KeyType, PrivateKey, generate
from keys.sd_jwt import errors as e
from keys.sd_jwt import issue, present, verify
from keys.sd_jwt.disclosure import create
from keys.signing import KeySigner

sd_jwt = pytest.importorskip("sd_jwt", reason="PyPI sd-jwt (0.10.4) is not installed")
jwcrypto_jwk = pytest.importorskip("jwcrypto.jwk", reason="jwcrypto is not installed")

from sd_jwt.common import SDObj  # noqa: E402
from sd_jwt.holder import SDJWTHolder  # noqa: E402
from sd_jwt.issuer import SDJWTIssuer  # noqa: E402
from sd_jwt.verifier import SDJWTVerifier  # noqa: E402

pytestmark = pytest.mark.interop

NONCE = "n-0S6_WzA2Mj"
AUDIENCE = "https://verifier.example.org"
VCT = "https://credentials.example.com/identity_credential"


def _jwk(key: PrivateKey, *, private: bool) -> Any:
    return jwcrypto_jwk.JWK(**(key.to_jwk() if private else key.public_key().to_jwk()))


def test_reference_version() -> None:
    assert metadata.version("sd-jwt") == "0.10.4"


@pytest.mark.parametrize("issuer_type", ["p256", "ed25519"])
def test_taito_presentation_verifies_in_reference(issuer_type: KeyType) -> None:
    issuer, holder = generate(issuer_type), generate("p256")
    now = datetime.now(UTC)
    base = {
        "vct": VCT,
        "iss": "https://issuer.example",
        "iat": int(now.timestamp()) - 60,
        "exp": int(now.timestamp()) + 3600,
    }
    claims = {
        **base,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "address": {
            "street_address": "12 St James's Square",
            "locality": "London",
            "country": "GB",
        },
        "nationalities": ["GB", "FR"],
    }
    token = issue(
        claims,
        signer=KeySigner.for_key(issuer),
        holder_key=holder.public_key(),
        disclosable=[
            "/given_name",
            "/family_name",
            "/address",
            "/address/locality",
            "/nationalities/0",
            "/nationalities/1",
        ],
    )
    presentation = present(
        token,
        reveal=["/given_name", "/address/locality", "/nationalities/1"],
        holder=KeySigner.for_key(holder),
        nonce=NONCE,
        audience=AUDIENCE,
        iat=now,
    )
    seen: list[Any] = []

    def issuer_key(iss: str, header: dict[str, Any]) -> Any:
        seen.append((iss, header))
        return _jwk(issuer, private=False)

    reference = SDJWTVerifier(presentation, issuer_key, expected_aud=AUDIENCE, expected_nonce=NONCE)
    expected = {
        **base,
        "given_name": "Ada",
        "address": {
            "street_address": "12 St James's Square",
            "locality": "London",
            "country": "GB",
        },
        "nationalities": ["FR"],
        "cnf": {"jwk": holder.public_key().to_jwk()},
    }
    assert reference.get_verified_payload() == expected
    assert seen[0][0] == "https://issuer.example"
    assert seen[0][1]["typ"] == "dc+sd-jwt"
    ours = verify(
        presentation,
        resolve_issuer_key=lambda h, p: issuer.public_key(),
        now=now,
        expected_nonce=NONCE,
        expected_audience=AUDIENCE,
    )
    assert ours.claims == expected
    # the reference really checks: another nonce fails there too
    with pytest.raises(ValueError, match="nonce"):
        SDJWTVerifier(presentation, issuer_key, expected_aud=AUDIENCE, expected_nonce="other")


def _reference_issuance(
    issuer: PrivateKey, holder: PrivateKey, now: datetime
) -> tuple[str, dict[str, Any]]:
    base = {
        "vct": VCT,
        "iss": "https://issuer.example",
        "iat": int(now.timestamp()) - 60,
        "exp": int(now.timestamp()) + 3600,
    }
    user_claims = {
        **base,
        SDObj("given_name"): "Ada",
        SDObj("family_name"): "Lovelace",
        "address": {SDObj("locality"): "London", "country": "GB"},
        "nationalities": [SDObj("GB"), "FR"],
    }
    issuer_tool = SDJWTIssuer(
        user_claims,
        _jwk(issuer, private=True),
        holder_key=_jwk(holder, private=True),
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt"},
    )
    return issuer_tool.sd_jwt_issuance, base


def test_reference_presentation_verifies_in_taito() -> None:
    issuer, holder = generate("p256"), generate("p256")
    now = datetime.now(UTC)
    issuance, base = _reference_issuance(issuer, holder, now)
    cnf = {"jwk": holder.public_key().to_jwk()}
    key = issuer.public_key()

    everything = verify(issuance, resolve_issuer_key=lambda h, p: key, now=now)
    assert everything.claims == {
        **base,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "address": {"locality": "London", "country": "GB"},
        "nationalities": ["GB", "FR"],
        "cnf": cnf,
    }

    holder_tool = SDJWTHolder(issuance)
    holder_tool.create_presentation(
        {"given_name": True, "address": {"locality": True}, "nationalities": [True]},
        nonce=NONCE,
        aud=AUDIENCE,
        holder_key=_jwk(holder, private=True),
        sign_alg="ES256",
    )
    presentation = holder_tool.sd_jwt_presentation
    result = verify(
        presentation,
        resolve_issuer_key=lambda h, p: key,
        now=datetime.now(UTC),
        expected_nonce=NONCE,
        expected_audience=AUDIENCE,
        require_key_binding=True,
    )
    assert result.key_bound
    assert result.claims == {
        **base,
        "given_name": "Ada",
        "address": {"locality": "London", "country": "GB"},
        "nationalities": ["GB", "FR"],
        "cnf": cnf,
    }
    assert sorted(p for p, _ in result.disclosed) == [
        "/address/locality",
        "/given_name",
        "/nationalities/0",
    ]
    with pytest.raises(e.NonceMismatch):
        verify(
            presentation,
            resolve_issuer_key=lambda h, p: key,
            now=datetime.now(UTC),
            expected_nonce="other",
            expected_audience=AUDIENCE,
        )

    # and Taito's holder over the reference's issuance is accepted by the reference verifier
    ours = present(
        issuance,
        reveal=["/family_name"],
        holder=KeySigner.for_key(holder),
        nonce=NONCE,
        audience=AUDIENCE,
        iat=datetime.now(UTC),
    )
    reference = SDJWTVerifier(
        ours,
        lambda iss, header: _jwk(issuer, private=False),
        expected_aud=AUDIENCE,
        expected_nonce=NONCE,
    )
    assert reference.get_verified_payload() == {
        **base,
        "family_name": "Lovelace",
        "address": {"country": "GB"},
        "nationalities": ["FR"],
        "cnf": cnf,
    }


def test_unreferenced_disclosure_ignored_by_reference_rejected_by_taito() -> None:
    issuer, holder = generate("p256"), generate("p256")
    now = datetime.now(UTC)
    issuance, _ = _reference_issuance(issuer, holder, now)
    extra = create(b"\x01" * 16, "admin", True).encoded
    tampered = issuance + extra + "~"
    lenient = SDJWTVerifier(tampered, lambda iss, header: _jwk(issuer, private=False))
    assert "admin" not in lenient.get_verified_payload()
    with pytest.raises(e.UnreferencedDisclosure):
        verify(tampered, resolve_issuer_key=lambda h, p: issuer.public_key(), now=now)
