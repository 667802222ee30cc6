"""Taito wallet <-> Taito issuer and Taito wallet <-> Taito verifier over real HTTP, for all three
formats: POST /wallet/offers runs OpenID4VCI with the learner's holder keys and stores the
credentials (verified on import); POST /wallet/requests matches a DCQL request against them and
POST /wallet/requests/response presents exactly the requested claims. Remote addresses the SSRF
guard refuses (credential_offer_uri, request_uri) are never fetched."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from tests.openid.conftest import Server
from tests.openid.test_oid4vp import IDS, create, poll, query_for
from verifier.http import GuardedHttp, HttpPolicy

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only


@pytest.fixture
def learner(server: Server) -> dict[str, str]:
    server.app.state.wallet.password_hasher = FAST_HASHER
    response = server.http.post(
        "/wallet/auth/register",
        json={
            "email": "aino@example.fi",
            "password": "correct horse battery",
            "display_name": "Aino",
        },
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['tokens']['access_token']}"}


@pytest.fixture
def strict_http(server: Server) -> Iterator[None]:
    """The server's remote fetches as in production: private and loopback addresses refused."""
    context = server.app.state.verifier
    relaxed = context.http
    context.http = GuardedHttp(HttpPolicy(allow_http=True))
    try:
        yield
    finally:
        context.http.close()
        context.http = relaxed


def accept(server: Server, learner: dict[str, str], **body: Any) -> Any:
    return server.http.post("/wallet/offers", json=body, headers=learner)


def fill_wallet(server: Server, learner: dict[str, str]) -> list[dict[str, Any]]:
    made = server.offer(by_reference=True)
    response = accept(server, learner, offer_uri=made["offer_uri"], tx_code=made["tx_code"])
    assert response.status_code == 201, response.text
    return list(response.json()["credentials"])


def test_wallet_accepts_an_offer_in_every_format(server: Server, learner: dict[str, str]) -> None:
    stored = fill_wallet(server, learner)
    assert sorted(c["format"] for c in stored) == ["dc+sd-jwt", "jwt_vc", "ldp_vc"]
    assert all(c["verified"] and c["source"] == "openid4vci" for c in stored)
    assert {c["name"] for c in stored} == {"Introduction to Data Science"}
    listed = server.http.get("/wallet/credentials", headers=learner).json()
    assert listed["total"] == 3
    # the issuer offers DPoP (RFC 9449), so the wallet's access token was bound to its DPoP key
    with server.app.state.issuer.engine.connect() as connection:
        [(jkt,)] = connection.execute(text("SELECT dpop_jkt FROM oid4vci_token")).all()
    assert jkt is not None
    # the issuer heard that the wallet kept them
    audit = server.http.get("/issuers/tampere/audit", headers=server.admin).json()
    assert sum(e["action"] == "offer.credential_accepted" for e in audit) == 3


def test_wallet_needs_the_right_pin(server: Server, learner: dict[str, str]) -> None:
    made = server.offer()
    missing = accept(server, learner, offer_uri=made["offer_uri"])
    assert missing.status_code == 422 and missing.json()["code"] == "tx_code_required"
    assert missing.json()["tx_code"]["length"] == 6
    wrong = accept(server, learner, offer_uri=made["offer_uri"], tx_code="000000x")
    assert wrong.status_code == 502
    assert wrong.json()["code"] == "issuer_refused" and wrong.json()["error"] == "invalid_grant"
    assert server.http.get("/wallet/credentials", headers=learner).json()["total"] == 0
    junk = accept(server, learner, offer_uri="https://example.org/not-an-offer")
    assert junk.status_code == 422 and junk.json()["code"] == "invalid_offer"


@pytest.mark.usefixtures("strict_http")
def test_offer_and_request_uris_at_private_addresses_are_not_fetched(
    server: Server, learner: dict[str, str]
) -> None:
    for target in ("http://127.0.0.1:9/offer", "http://10.0.0.7/offer", "http://169.254.169.254/"):
        uri = "openid-credential-offer://?" + urllib.parse.urlencode(
            {"credential_offer_uri": target}
        )
        refused = accept(server, learner, offer_uri=uri)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "fetch_blocked"
        request = "openid4vp://?" + urllib.parse.urlencode(
            {"client_id": "decentralized_identifier:did:key:z6Mk", "request_uri": target}
        )
        refused = server.http.post(
            "/wallet/requests", json={"request_uri": request}, headers=learner
        )
        assert refused.status_code == 400 and refused.json()["code"] == "fetch_blocked"


@pytest.mark.parametrize("prefix", ["redirect_uri", "decentralized_identifier"])
def test_wallet_answers_a_request_with_exactly_the_asked_claims(
    server: Server, learner: dict[str, str], prefix: str
) -> None:
    stored = fill_wallet(server, learner)
    queries = [query_for(server, fmt, IDS[fmt]) for fmt in IDS]
    created = create(server, queries, client_id_prefix=prefix)
    read = server.http.post(
        "/wallet/requests",
        json={"request_uri": created["authorization_request"]},
        headers=learner,
    )
    assert read.status_code == 200, read.text
    shown = read.json()
    assert shown["satisfiable"] is True
    assert shown["client_id"] == created["client_id"]
    choices = {}
    for query in shown["queries"]:
        [candidate] = query["candidates"]
        assert candidate["claims"]
        choices[query["id"]] = [candidate["credential_id"]]
    assert {c for ids in choices.values() for c in ids} == {c["id"] for c in stored}
    answered = server.http.post(
        "/wallet/requests/response",
        json={"request_uri": created["authorization_request"], "choices": choices},
        headers=learner,
    )
    assert answered.status_code == 200, answered.text
    result = poll(server, created)
    assert result["status"] == "verified", result
    [sd] = result["result"]["credentials"]["learning"]
    # selective disclosure: the requested claims and nothing else of the learner's
    disclosed = dict(sd["disclosed"])
    assert disclosed.pop("issuer_name") == "Tampere College"  # never selectively disclosable
    assert disclosed == {
        "achievement": {"name": "Introduction to Data Science"},
        "given_name": "Aino",
    }
    for query_id in ("badge", "badge_jwt"):
        [w3c] = result["result"]["credentials"][query_id]
        assert w3c["claims"][0]["value"] == ["Introduction to Data Science"]


def test_wallet_refuses_bad_requests(server: Server, learner: dict[str, str]) -> None:
    fill_wallet(server, learner)
    created = create(server, [query_for(server, "dc+sd-jwt")])
    query = dict(urllib.parse.parse_qsl(created["authorization_request"].split("?", 1)[1]))
    forged = {**query, "client_id": "redirect_uri:https://other.example/cb"}
    uri = "openid4vp://?" + urllib.parse.urlencode(forged)
    response = server.http.post("/wallet/requests", json={"request_uri": uri}, headers=learner)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_presentation_request"
    implicit = {**query, "response_mode": "fragment"}
    uri = "openid4vp://?" + urllib.parse.urlencode(implicit)
    response = server.http.post("/wallet/requests", json={"request_uri": uri}, headers=learner)
    assert response.status_code == 422
    # a choice that does not answer the query is refused before anything is sent
    wrong = server.http.post(
        "/wallet/requests/response",
        json={"request_uri": created["authorization_request"], "choices": {"cred": ["nope"]}},
        headers=learner,
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "nothing_to_present"
    assert poll(server, created)["status"] == "pending"
    unknown = json.loads(query["dcql_query"])
    assert unknown["credentials"][0]["id"] == "cred"


def test_wallet_openid_routes_need_a_learner(server: Server) -> None:
    bodies = {
        "/wallet/offers": {"offer_uri": "openid-credential-offer://?credential_offer=%7B%7D"},
        "/wallet/requests": {"request_uri": "openid4vp://?client_id=x"},
        "/wallet/requests/response": {"request_uri": "openid4vp://?client_id=x", "choices": {}},
    }
    for path, body in bodies.items():
        for headers in ({}, {"Authorization": "Bearer forged"}):
            response = server.http.post(path, json=body, headers=headers)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["code"] == "unauthorized"


def test_wallet_refuses_a_deeply_nested_query(server: Server, learner: dict[str, str]) -> None:
    uri = "openid4vp://?" + urllib.parse.urlencode(
        {
            "client_id": "redirect_uri:https://x.example/cb",
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": "https://x.example/cb",
            "nonce": "n",
            "dcql_query": "[" * 2000 + "]" * 2000,
        }
    )
    response = server.http.post("/wallet/requests", json={"request_uri": uri}, headers=learner)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_presentation_request"


def test_wallet_reports_a_deferred_credential_as_pending(
    server: Server, learner: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from issuer import oid4vci
    from wallet import oid4vci_client

    if server.app.state.batch_worker is not None:
        server.app.state.batch_worker.stop()  # the batch is not signed yet
    monkeypatch.setattr(oid4vci_client, "MAX_DEFERRED_POLLS", 1)
    monkeypatch.setattr(oid4vci, "DEFERRED_INTERVAL", 0)
    created = server.http.post(
        "/issuers/tampere/batches",
        params={"achievement_id": server.achievement_id, "formats": ["ob3-di"]},
        headers={**server.admin, "content-type": "text/csv"},
        content="row_key,email\nS-1,aino@example.fi\n",
    )
    assert created.status_code == 202, created.text
    made = server.offer(
        achievement_id=None,
        recipient=None,
        batch_id=created.json()["id"],
        row_key="S-1",
        credential_configuration_ids=["LearningCredential_dc+sd-jwt"],
    )
    response = accept(server, learner, offer_uri=made["offer_uri"], tx_code=made["tx_code"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["credentials"] == [] and body["failed"] == []
    [pending] = body["pending"]
    assert pending["configuration"] == "LearningCredential_dc+sd-jwt"
    assert pending["id"]  # kept to resume: POST /wallet/offers/pending/{id}
