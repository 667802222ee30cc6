"""An independent wallet obtains credentials from Taito's OpenID4VCI issuer over HTTP.

The wallet is the OpenWallet Foundation's oid4vc-ts: ``Openid4vciClient`` from
``@openid4vc/openid4vci`` 0.4.6 with ``@openid4vc/oauth2`` 0.4.6 (``oid4vci.mjs``). It resolves the
offer (by value and by reference), reads the path-aware issuer and authorization server metadata,
redeems the pre-authorized code with the ``tx_code``, fetches a ``c_nonce``, signs a proof JWT
with its own P-256 key and receives every format; then it sends a notification. The credentials
it received verify in Taito's verifier and are bound to the wallet's key.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from keys.did import default_method_id, split_did_url
from keys.jose import decode_unverified
from keys.jwk import public_key_from_jwk
from tests.interop.conftest import HERE, NODE_TIMEOUT_SECONDS, NPM_HINT
from tests.openid import conftest as openid_fixtures
from tests.openid.conftest import Server

pytestmark = pytest.mark.interop

server = openid_fixtures.server
public_host = openid_fixtures.public_host
extra_settings = openid_fixtures.extra_settings
CONFIGS = [
    "OpenBadgeCredential_ldp_vc",
    "OpenBadgeCredential_jwt_vc_json",
    "LearningCredential_dc+sd-jwt",
]
PACKAGES = ("@openid4vc/openid4vci", "@openid4vc/oauth2", "@openid4vc/utils")


def require(node: str, packages: tuple[str, ...]) -> str:
    """``node``, once these pinned packages are installed; else skip."""
    for package in packages:
        if not (HERE / "node_modules" / package / "package.json").is_file():
            pytest.skip(f"npm package {package} not installed: {NPM_HINT}")
    return node


@pytest.fixture(scope="session")
def oid4vc_ts(node: str) -> str:
    return require(node, PACKAGES)


def run_script(node: str, script: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run one job (JSON on stdin) through a Node script; its JSON answer."""
    completed = subprocess.run(
        [node, str(HERE / script)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def run_wallet(node: str, job: dict[str, Any]) -> dict[str, Any]:
    result = run_script(node, "oid4vci.mjs", job)
    assert result["ok"], f"{result.get('error')}\n{result.get('details')}"
    return result


@pytest.mark.parametrize(("by_reference", "dpop"), [(False, False), (True, True)])
def test_oid4vc_ts_wallet_gets_every_format(
    oid4vc_ts: str, server: Server, by_reference: bool, dpop: bool
) -> None:
    made = server.offer(by_reference=by_reference)
    result = run_wallet(
        oid4vc_ts,
        {
            "offer_uri": made["offer_uri"],
            "tx_code": made["tx_code"],
            "configuration_ids": CONFIGS,
            "dpop": dpop,
        },
    )
    assert result["version"] == "V1"  # oid4vc-ts read the metadata as OpenID4VCI 1.0 Final
    assert result["token_type"] == ("DPoP" if dpop else "Bearer")
    assert result["notified"] is True
    holder = public_key_from_jwk(result["holder_jwk"])
    holder_did = split_did_url(default_method_id(holder))[0]
    for config in CONFIGS:
        [credential] = result["credentials"][config]
        report = server.http.post("/verifier/verify", json={"credential": credential}).json()
        assert report["verified"], report
        if config.endswith("ldp_vc"):
            assert credential["credentialSubject"]["id"] == holder_did
        elif config.endswith("jwt_vc_json"):
            assert json.loads(decode_unverified(credential).payload)["sub"] == holder_did
        else:
            claims = json.loads(decode_unverified(credential.split("~")[0]).payload)
            assert public_key_from_jwk(claims["cnf"]["jwk"]).thumbprint() == holder.thumbprint()


def test_oid4vc_ts_wallet_with_a_wrong_tx_code_gets_nothing(oid4vc_ts: str, server: Server) -> None:
    made = server.offer()
    wrong = f"{(int(made['tx_code']) + 1) % 10**6:06d}"
    result = run_script(
        oid4vc_ts,
        "oid4vci.mjs",
        {"offer_uri": made["offer_uri"], "tx_code": wrong, "configuration_ids": CONFIGS},
    )
    assert result["ok"] is False
    assert "invalid_grant" in result["error"] + result["details"]
