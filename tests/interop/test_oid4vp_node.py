"""An independent holder answers Taito's OpenID4VP verifier over HTTP.

``oid4vp.mjs`` drives the OpenWallet Foundation's ``Openid4vpClient`` (``@openid4vc/openid4vp``
0.4.6): it parses the ``openid4vp://`` URI, fetches the signed request object (``request_uri``,
``typ: oauth-authz-req+jwt``) and checks it against the ``decentralized_identifier:`` did:key, reads
the DCQL query, and submits the ``direct_post`` response; ``@sd-jwt/sd-jwt-vc`` 0.19.0 makes the
presentation (the SD-JWT VC Taito issued over OpenID4VCI, only the queried claims, a KB-JWT with the
request's nonce and client_id). Taito's verifier accepts it and records exactly those claims.
"""

from __future__ import annotations

import pytest

from tests.interop.test_oid4vci_node import require, run_script
from tests.openid import conftest as openid_fixtures
from tests.openid.conftest import Server
from tests.openid.holder import Wallet, holder_key, resolve_offer
from tests.openid.test_oid4vp import create, poll, query_for

pytestmark = pytest.mark.interop

server = openid_fixtures.server
PACKAGES = ("@openid4vc/openid4vp", "@openid4vc/utils", "@sd-jwt/sd-jwt-vc")


@pytest.fixture(scope="session")
def oid4vp_ts(node: str) -> str:
    return require(node, PACKAGES)


def test_oid4vc_ts_holder_answers_a_signed_dcql_request(oid4vp_ts: str, server: Server) -> None:
    made = server.offer(credential_configuration_ids=["LearningCredential_dc+sd-jwt"])
    wallet = Wallet(server.http, resolve_offer(server.http, made["offer_uri"]))
    assert wallet.token(made["tx_code"]).status_code == 200
    key = holder_key("p256")
    issued = wallet.request("LearningCredential_dc+sd-jwt", [key])
    assert issued.status_code == 200, issued.text
    credential = issued.json()["credentials"][0]["credential"]
    created = create(
        server, [query_for(server, "dc+sd-jwt")], client_id_prefix="decentralized_identifier"
    )
    result = run_script(
        oid4vp_ts,
        "oid4vp.mjs",
        {
            "request_uri": created["authorization_request"],
            "credential": credential,
            "holder_jwk": key.to_jwk(),
        },
    )
    assert result["ok"], result.get("error")
    assert result["version"] == 100  # oid4vc-ts read the request as OpenID4VP 1.0 Final
    assert result["client_prefix"] == "decentralized_identifier"
    assert result["status"] == 200, result["body"]
    outcome = poll(server, created)
    assert outcome["status"] == "verified", outcome
    disclosed = dict(outcome["result"]["credentials"]["cred"][0]["disclosed"])
    disclosed.pop("issuer_name")
    assert disclosed == {
        "achievement": {"name": "Introduction to Data Science"},
        "given_name": "Aino",
    }
