"""A selective SD-JWT presentation from the wallet verifies in independent implementations:
the OpenWallet Foundation's ``@sd-jwt/sd-jwt-vc`` (Node, ``tests/interop/wallet_presentation.mjs``)
and the reference PyPI ``sd-jwt``, each revealing exactly the chosen claims.

The credential is issued over HTTP to the learner's P-256 holder DID (the PyPI reference checks
ES256 key binding only), imported, and presented through ``POST /wallet/presentations``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Learner, Server
from tests.e2e.sharing import (
    AUDIENCE,
    NONCE,
    REVEAL,
    issue_into_wallet,
    issuer_public_key,
    present,
)

pytestmark = pytest.mark.interop

INTEROP = Path(__file__).resolve().parents[1] / "interop"
SCRIPT = INTEROP / "wallet_presentation.mjs"
HIDDEN = ("family_name", "email", "student_number", "awarded_on")


def _presented(server: Server, learner: Learner, reveal: list[str]) -> tuple[str, dict[str, Any]]:
    held = issue_into_wallet(server, learner, ["sd-jwt-vc"])
    answer = present(
        learner,
        {
            "format": "dc+sd-jwt",
            "credentials": [{"id": held.ids["sd-jwt-vc"], "reveal": reveal}],
            "nonce": NONCE,
            "audience": AUDIENCE,
        },
    )
    assert answer.status_code == 200, answer.text
    token = str(answer.json()["presentation"])
    return token, issuer_public_key(server, token).to_jwk()


def _node(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (INTEROP / "node_modules" / "@sd-jwt" / "sd-jwt-vc" / "package.json").is_file():
        pytest.skip("@sd-jwt/sd-jwt-vc is not installed: npm ci --prefix tests/interop")
    run = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps({"jobs": jobs}),
        capture_output=True,
        text=True,
        cwd=INTEROP,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: list[dict[str, Any]] = json.loads(run.stdout)["results"]
    assert all(r["ok"] for r in results), results
    return results


def test_wallet_presentation_verifies_in_sd_jwt_vc_node(server: Server, learner: Learner) -> None:
    token, issuer_jwk = _presented(server, learner, REVEAL)
    job = {"op": "verify-presentation", "presentation": token, "issuerKey": issuer_jwk}
    good, wrong_nonce, wrong_audience = _node(
        [
            {**job, "nonce": NONCE, "aud": AUDIENCE},
            {**job, "nonce": "another-nonce", "aud": AUDIENCE},
            {**job, "nonce": NONCE, "aud": "https://other.example"},
        ]
    )
    assert good["verified"], good["errors"]
    assert good["disclosedPaths"] == sorted(REVEAL)
    claims = good["claims"]
    assert set(claims["achievement"]) == {"name", "ects_credits"}
    assert claims["given_name"] == "Aino"
    assert not set(HIDDEN) & set(claims)
    assert good["kb"]["header"]["typ"] == "kb+jwt"
    assert (good["kb"]["payload"]["nonce"], good["kb"]["payload"]["aud"]) == (NONCE, AUDIENCE)
    assert not wrong_nonce["verified"]
    assert not wrong_audience["verified"]


def test_wallet_presentation_verifies_in_pypi_sd_jwt(server: Server, learner: Learner) -> None:
    verifier_module = pytest.importorskip("sd_jwt.verifier", reason="PyPI sd-jwt is not installed")
    jwcrypto_jwk = pytest.importorskip("jwcrypto.jwk", reason="jwcrypto is not installed")
    reveal = ["/achievement/name", "/achievement/eqf_level", "/family_name"]
    token, issuer_jwk = _presented(server, learner, reveal)
    seen: list[str] = []

    def issuer_key(iss: str, _header: dict[str, Any]) -> Any:
        seen.append(iss)
        return jwcrypto_jwk.JWK(**issuer_jwk)

    reference = verifier_module.SDJWTVerifier(
        token, issuer_key, expected_aud=AUDIENCE, expected_nonce=NONCE
    )
    claims = reference.get_verified_payload()
    assert seen == [claims["iss"]]
    assert set(claims["achievement"]) == {"name", "eqf_level"}
    assert claims["achievement"]["eqf_level"] == 6
    assert claims["family_name"] == "Virtanen"
    assert "given_name" not in claims and not set(HIDDEN[1:]) & set(claims)
    # the reference really checks the key binding: another nonce or audience fails there too
    with pytest.raises(ValueError, match="nonce"):
        verifier_module.SDJWTVerifier(token, issuer_key, expected_aud=AUDIENCE, expected_nonce="x")
    with pytest.raises(ValueError, match="aud"):
        verifier_module.SDJWTVerifier(token, issuer_key, expected_aud="x", expected_nonce=NONCE)
