"""SD-JWT VC with key binding against the OpenWallet Foundation's @sd-jwt/sd-jwt-vc 0.19.0.

* Taito issues and presents a subset; @sd-jwt verifies (signature, disclosures, KB-JWT with nonce)
  and reveals exactly that subset.
* @sd-jwt issues and presents; Taito verifies and reveals exactly the same claims.
* A wrong nonce fails on both sides; a wrong audience fails on Taito's side (@sd-jwt does not
  check ``aud`` or ``iat`` itself: INTEROP.md).

Keys are made by Taito and handed to Node as JWKs; the algorithm follows the key (EdDSA, ES256).
Each test runs one Node process for its batch of jobs (see ``sdjwt.mjs``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from keys import sd_jwt
from keys.did import did_key, did_key_method_id
from keys.jwk import KeyType, PrivateKey, PublicKey, generate
from keys.signing import KeySigner
from schemas.errors import TaitoError
from tests.interop.conftest import NodeRunner, ok, ref

pytestmark = pytest.mark.interop

ISSUED_AT = 1748779200  # 2025-06-01T12:00:00Z
PRESENTED_AT = ISSUED_AT + 3600
NOW = datetime(2025, 6, 1, 13, 0, 30, tzinfo=UTC)
NOW_ISO = "2025-06-01T13:00:30Z"
NONCE = "n-0S6_WzA2Mj"
AUDIENCE = "https://verifier.taito.example"
VCT = "https://credentials.taito.example/vct/open-badge"

DISCLOSABLE = [
    "/given_name",
    "/family_name",
    "/email",
    "/address/locality",
    "/address/country",
    "/achievements/0",
    "/achievements/1",
]
REVEAL = ["/given_name", "/address/locality", "/achievements/1"]

KEY_PAIRS = [
    pytest.param("ed25519", "ed25519", id="EdDSA-issuer-EdDSA-holder"),
    pytest.param("p256", "p256", id="ES256-issuer-ES256-holder"),
    pytest.param("p256", "ed25519", id="ES256-issuer-EdDSA-holder"),
]


def claims_for(issuer: PrivateKey) -> dict[str, Any]:
    return {
        "iss": did_key(issuer.public_key()),
        "iat": ISSUED_AT,
        "exp": ISSUED_AT + 365 * 24 * 3600,
        "vct": VCT,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "address": {"locality": "London", "country": "GB"},
        "achievements": ["Analytical Engine notes", "Bernoulli numbers"],
    }


def revealed_claims(issuer: PrivateKey, holder: PublicKey) -> dict[str, Any]:
    """What a verifier sees once REVEAL is disclosed: the always-visible claims and that subset."""
    claims = claims_for(issuer)
    expected = {k: claims[k] for k in ("iss", "iat", "exp", "vct")}
    expected["given_name"] = claims["given_name"]
    expected["address"] = {"locality": claims["address"]["locality"]}
    expected["achievements"] = [claims["achievements"][1]]
    expected["cnf"] = {"jwk": holder.to_jwk()}
    return expected


def taito_verify(presentation: str, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "resolve_issuer_key": sd_jwt.resolve_offline_issuer_key,
        "now": NOW,
        "expected_nonce": NONCE,
        "expected_audience": AUDIENCE,
        "require_key_binding": True,
    }
    options.update(overrides)
    return sd_jwt.verify(presentation, **options)


def taito_failure(presentation: str, **overrides: Any) -> TaitoError:
    with pytest.raises(TaitoError) as caught:
        taito_verify(presentation, **overrides)
    return caught.value


def messages(result: dict[str, Any]) -> list[str]:
    return [e["message"] for e in result["errors"]]


@pytest.mark.parametrize(("issuer_type", "holder_type"), KEY_PAIRS)
def test_taito_issues_and_presents_sd_jwt_vc_node_verifies(
    node_sd_jwt: NodeRunner, issuer_type: KeyType, holder_type: KeyType
) -> None:
    issuer, holder = generate(issuer_type), generate(holder_type)
    issued = sd_jwt.issue(
        claims_for(issuer),
        signer=KeySigner.for_key(issuer),
        disclosable=DISCLOSABLE,
        holder_key=holder.public_key(),
    )
    presentation = sd_jwt.present(
        issued,
        reveal=REVEAL,
        holder=KeySigner.for_key(holder),
        nonce=NONCE,
        audience=AUDIENCE,
        iat=datetime.fromtimestamp(PRESENTED_AT, UTC),
    )
    issuer_jwk = issuer.public_key().to_jwk()
    decoded, good, wrong_nonce = node_sd_jwt(
        [
            {"op": "decode", "sdJwt": issued},
            {
                "op": "verify",
                "presentation": presentation,
                "issuerKey": issuer_jwk,
                "nonce": NONCE,
                "now": NOW_ISO,
            },
            {
                "op": "verify",
                "presentation": presentation,
                "issuerKey": issuer_jwk,
                "nonce": "another-nonce",
                "now": NOW_ISO,
            },
        ]
    )
    # Taito's issuer JWT as @sd-jwt reads it: typed dc+sd-jwt, one Disclosure per pointer.
    assert ok(decoded)["header"]["typ"] == "dc+sd-jwt"
    assert len(decoded["disclosures"]) == len(DISCLOSABLE)

    assert ok(good)["verified"] is True, messages(good)
    assert good["claims"] == revealed_claims(issuer, holder.public_key())
    assert sorted(d["value"] if d["key"] is None else d["key"] for d in good["disclosures"]) == [
        "Bernoulli numbers",
        "given_name",
        "locality",
    ]
    assert good["kb"]["header"]["typ"] == "kb+jwt"
    assert good["kb"]["payload"]["nonce"] == NONCE
    assert good["kb"]["payload"]["aud"] == AUDIENCE
    assert good["kb"]["payload"]["iat"] == PRESENTED_AT

    assert ok(wrong_nonce)["verified"] is False
    assert messages(wrong_nonce) == ["Verify Error: Invalid Nonce"]


@pytest.mark.parametrize(("issuer_type", "holder_type"), KEY_PAIRS)
def test_node_issues_and_presents_sd_jwt_vc_taito_verifies(
    node_sd_jwt: NodeRunner, issuer_type: KeyType, holder_type: KeyType
) -> None:
    issuer, holder = generate(issuer_type), generate(holder_type)
    present = {
        "op": "present",
        "sdJwt": ref(0, "sdJwt"),
        "holderKey": holder.to_jwk(),
        "nonce": NONCE,
        "aud": AUDIENCE,
        "iat": PRESENTED_AT,
    }
    issued, subset, everything = node_sd_jwt(
        [
            {
                "op": "issue",
                "claims": claims_for(issuer),
                "issuerKey": issuer.to_jwk(),
                "holderKey": holder.public_key().to_jwk(),
                "disclosable": DISCLOSABLE,
                "header": {"kid": did_key_method_id(issuer.public_key())},
            },
            {**present, "reveal": REVEAL},
            {**present, "reveal": DISCLOSABLE},
        ]
    )
    ok(issued)

    verified = taito_verify(ok(subset)["presentation"])
    assert verified.key_bound is True
    assert verified.claims == revealed_claims(issuer, holder.public_key())

    # Everything @sd-jwt put in the SD-JWT, disclosed in full, is what Taito reads back.
    expected_full = {**claims_for(issuer), "cnf": {"jwk": holder.public_key().to_jwk()}}
    assert taito_verify(ok(everything)["presentation"]).claims == expected_full


@pytest.mark.parametrize(("issuer_type", "holder_type"), KEY_PAIRS[:2])
def test_node_presentation_with_wrong_nonce_or_audience_fails_in_taito(
    node_sd_jwt: NodeRunner, issuer_type: KeyType, holder_type: KeyType
) -> None:
    issuer, holder = generate(issuer_type), generate(holder_type)
    _, presented = node_sd_jwt(
        [
            {
                "op": "issue",
                "claims": claims_for(issuer),
                "issuerKey": issuer.to_jwk(),
                "holderKey": holder.public_key().to_jwk(),
                "disclosable": DISCLOSABLE,
                "header": {"kid": did_key_method_id(issuer.public_key())},
            },
            {
                "op": "present",
                "sdJwt": ref(0, "sdJwt"),
                "holderKey": holder.to_jwk(),
                "reveal": REVEAL,
                "nonce": "a-nonce-from-another-session",
                "aud": AUDIENCE,
                "iat": PRESENTED_AT,
            },
        ]
    )
    presentation = ok(presented)["presentation"]

    assert taito_failure(presentation).code == "kb_nonce_mismatch"
    # The same presentation is fine for the session it was made for ...
    assert taito_verify(presentation, expected_nonce="a-nonce-from-another-session").key_bound
    # ... but not for another audience, which @sd-jwt itself would not notice.
    error = taito_failure(
        presentation,
        expected_nonce="a-nonce-from-another-session",
        expected_audience="https://other-verifier.example",
    )
    assert error.code == "kb_audience_mismatch"
