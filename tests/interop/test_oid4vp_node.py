"""An independent holder answers Taito's OpenID4VP verifier over HTTP.

``oid4vp.mjs`` drives the OpenWallet Foundation's ``Openid4vpClient`` (``@openid4vc/openid4vp``
0.4.6): it parses the ``openid4vp://`` URI, fetches the signed request object (``request_uri``,
``typ: oauth-authz-req+jwt``) and checks it against the ``decentralized_identifier:`` did:key, reads
the DCQL query, and submits the ``direct_post`` response; ``@sd-jwt/sd-jwt-vc`` 0.19.0 makes the
presentation (the SD-JWT VC Taito issued over OpenID4VCI, only the queried claims, a KB-JWT with the
request's nonce and client_id). Taito's verifier accepts it and records exactly those claims.
For ``ldp_vc`` the same client resolves and submits while @digitalbazaar/vc (``di.mjs``) signs
the Verifiable Presentation over the request's challenge and domain.
"""

from __future__ import annotations

import pytest

from keys import multikey
from keys.did import did_key
from tests.interop.conftest import NodeRunner
from tests.interop.test_oid4vci_node import require, run_script
from tests.openid import conftest as openid_fixtures
from tests.openid.conftest import Server
from tests.openid.holder import Wallet, holder_key, resolve_offer
from tests.openid.test_oid4vp import create, poll, query_for

pytestmark = pytest.mark.interop

server = openid_fixtures.server
public_host = openid_fixtures.public_host
extra_settings = openid_fixtures.extra_settings
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


def test_oid4vc_ts_holder_submits_a_digital_bazaar_presentation(
    oid4vp_ts: str, node_di: NodeRunner, server: Server
) -> None:
    """ldp_vc: oid4vc-ts resolves the request and posts the response; @digitalbazaar/vc signs
    the VP (eddsa-rdfc-2022, challenge = nonce, domain = client_id) with the holder's did:key."""
    made = server.offer(credential_configuration_ids=["OpenBadgeCredential_ldp_vc"])
    wallet = Wallet(server.http, resolve_offer(server.http, made["offer_uri"]))
    assert wallet.token(made["tx_code"]).status_code == 200
    key = holder_key("ed25519")
    issued = wallet.request("OpenBadgeCredential_ldp_vc", [key])
    assert issued.status_code == 200, issued.text
    credential = issued.json()["credentials"][0]["credential"]
    created = create(
        server, [query_for(server, "ldp_vc")], client_id_prefix="decentralized_identifier"
    )
    resolved = run_script(
        oid4vp_ts, "oid4vp.mjs", {"op": "resolve", "request_uri": created["authorization_request"]}
    )
    assert resolved["ok"], resolved.get("error")
    request = resolved["request"]
    assert resolved["query"]["format"] == "ldp_vc" and resolved["version"] == 100
    holder = did_key(key.public_key())
    [signed] = node_di(
        [
            {
                "op": "sign-presentation",
                "presentation": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiablePresentation"],
                    "holder": holder,
                },
                "credential": credential,
                "key": {
                    "publicKeyMultibase": multikey.encode_public(key.public_key()),
                    "secretKeyMultibase": multikey.encode_private(key),
                },
                "challenge": request["nonce"],
                "domain": request["client_id"],
            }
        ]
    )
    assert signed["ok"], signed.get("error")
    submitted = run_script(
        oid4vp_ts,
        "oid4vp.mjs",
        {"op": "submit", "request": request, "vp_token": {"cred": [signed["document"]]}},
    )
    assert submitted["ok"], submitted.get("error")
    assert submitted["status"] == 200, submitted["body"]
    outcome = poll(server, created)
    assert outcome["status"] == "verified", outcome
    [presented] = outcome["result"]["credentials"]["cred"]
    assert presented["holder"] == holder
    assert presented["claims"][0]["value"] == ["Introduction to Data Science"]
