"""Attacks on the OpenID4VCI issuer, each refused with the error the specification names.

* replayed pre-authorized code, wrong / missing / brute-forced tx_code: ``invalid_grant`` /
  ``invalid_request`` (OpenID4VCI 1.0 §6.3);
* proofs with a stale, reused or foreign nonce: ``invalid_nonce``; with another ``aud``, a wrong
  ``typ``, an old ``iat`` or a forged signature: ``invalid_proof`` (§8.3.1.2, Appendix F.4);
* no or a wrong access token: ``invalid_token`` (RFC 6750 §3.1); a DPoP-bound token without its
  proof, or a replayed DPoP proof: ``invalid_token`` / ``invalid_dpop_proof`` (RFC 9449 §7.1);
* credential configurations the offer does not hold: ``unknown_credential_configuration``;
* a credential_offer_uri served a second time: 404.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time

import httpx
import pytest
from sqlalchemy import text

from issuer.oid4vci import MAX_TX_CODE_ATTEMPTS
from tests.openid.conftest import SLUG, Server
from tests.openid.holder import Wallet, dpop_proof, holder_key, proof, resolve_offer

SD = "LearningCredential_dc+sd-jwt"


def _wallet(server: Server, **offer: object) -> tuple[Wallet, dict[str, object]]:
    made = server.offer(**offer)
    return Wallet(server.http, resolve_offer(server.http, str(made["offer_uri"]))), made


def _error(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "error_description"}
    return str(body["error"])


def test_replayed_pre_authorized_code(server: Server) -> None:
    wallet, made = _wallet(server)
    assert wallet.token(str(made["tx_code"])).status_code == 200
    assert _error(wallet.token(str(made["tx_code"]))) == "invalid_grant"
    assert _error(wallet.token(str(made["tx_code"]), code="made-up-code")) == "invalid_grant"


def test_tx_code_missing_wrong_and_brute_forced(server: Server) -> None:
    wallet, made = _wallet(server)
    pin = str(made["tx_code"])
    assert _error(wallet.token(None)) == "invalid_request"
    wrong = f"{(int(pin) + 1) % 10**6:06d}"
    for _ in range(MAX_TX_CODE_ATTEMPTS - 1):
        assert _error(wallet.token(wrong)) == "invalid_grant"
    assert _error(wallet.token(wrong)) == "invalid_grant"
    # locked: the right PIN no longer opens it
    assert _error(wallet.token(pin)) == "invalid_grant"
    untouched, _ = _wallet(server, tx_code=False)
    assert _error(untouched.token("123456")) == "invalid_request"  # no tx_code expected
    assert untouched.token(None).status_code == 200


def test_parallel_guesses_never_exceed_the_limit(server: Server) -> None:
    wallet, made = _wallet(server, tx_code_length=4)
    pin = str(made["tx_code"])
    guesses = [*[f"{i:04d}" for i in range(40) if f"{i:04d}" != pin][:20], pin]

    def guess(tx_code: str) -> httpx.Response:
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": wallet.code,
            "tx_code": tx_code,
        }
        return httpx.post(wallet.as_metadata["token_endpoint"], data=form, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(guess, guesses))
    compared = [r for r in responses if r.status_code == 200 or "code is wrong" in r.text]
    locked = [r for r in responses if "locked" in r.text]
    # exactly MAX_TX_CODE_ATTEMPTS guesses were compared, however they interleaved
    assert len(compared) == MAX_TX_CODE_ATTEMPTS
    assert len(locked) == len(guesses) - MAX_TX_CODE_ATTEMPTS
    assert all(_error(r) == "invalid_grant" for r in locked)


def test_nonce_stale_reused_missing(server: Server) -> None:
    wallet, made = _wallet(server)
    assert wallet.token(str(made["tx_code"])).status_code == 200
    key = holder_key()
    assert _error(wallet.request(SD, [key], nonce="never-issued")) == "invalid_nonce"
    body = {"credential_configuration_id": SD, "proofs": {"jwt": [proof(key, wallet.issuer, None)]}}
    assert _error(wallet.credential(body)) == "invalid_nonce"
    used = wallet.nonce()
    first = wallet.request("OpenBadgeCredential_jwt_vc_json", [key], nonce=used)
    assert first.status_code == 200, first.text
    assert _error(wallet.request(SD, [key], nonce=used)) == "invalid_nonce"  # single use
    assert wallet.request(SD, [key]).status_code == 200  # a fresh one works


def test_proofs_with_wrong_audience_typ_age_or_signature(server: Server) -> None:
    wallet, made = _wallet(server)
    assert wallet.token(str(made["tx_code"])).status_code == 200
    key = holder_key()

    def send(jwt: str) -> str:
        body = {"credential_configuration_id": SD, "proofs": {"jwt": [jwt]}}
        return _error(wallet.credential(body))

    assert send(proof(key, f"{server.base}/issuers/other", wallet.nonce())) == "invalid_proof"
    assert send(proof(key, wallet.issuer, wallet.nonce(), typ="JWT")) == "invalid_proof"
    assert (
        send(proof(key, wallet.issuer, wallet.nonce(), iat=time.time() - 3600)) == "invalid_proof"
    )
    assert (
        send(proof(key, wallet.issuer, wallet.nonce(), iat=time.time() + 3600)) == "invalid_proof"
    )
    assert send(proof(key, wallet.issuer, wallet.nonce(), iat=1e20)) == "invalid_proof"
    header, payload, signature = proof(key, wallet.issuer, wallet.nonce()).split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert send(forged) == "invalid_proof"
    # a proof by kid (did:key) is as good as one by jwk
    response = wallet.credential(
        {
            "credential_configuration_id": SD,
            "proofs": {"jwt": [proof(key, wallet.issuer, wallet.nonce(), by="kid")]},
        }
    )
    assert response.status_code == 200, response.text


def test_requests_outside_the_offer(server: Server) -> None:
    wallet, made = _wallet(server, credential_configuration_ids=[SD])
    assert wallet.token(str(made["tx_code"])).status_code == 200
    key = holder_key()
    other = wallet.request("OpenBadgeCredential_ldp_vc", [key])
    assert _error(other) == "unknown_credential_configuration"
    assert (
        _error(wallet.credential({"credential_identifier": "x", "proofs": {}}))
        == "unknown_credential_identifier"
    )
    assert _error(wallet.credential({"proofs": {}})) == "invalid_credential_request"
    assert _error(wallet.credential({"credential_configuration_id": SD})) == "invalid_proof"
    assert wallet.request(SD, [key]).status_code == 200
    # each configuration of an offer is issued once
    assert _error(wallet.request(SD, [holder_key()])) == "credential_request_denied"


def test_access_tokens(server: Server) -> None:
    wallet, _ = _wallet(server)
    url = wallet.metadata["credential_endpoint"]
    missing = server.http.post(url, json={"credential_configuration_id": SD})
    assert _error(missing, 401) == "invalid_token"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = server.http.post(url, json={}, headers={"Authorization": "Bearer not-a-token"})
    assert _error(wrong, 401) == "invalid_token"


def test_dpop_bound_token(server: Server) -> None:
    wallet, made = _wallet(server)
    wallet.dpop_key = holder_key()
    response = wallet.token(str(made["tx_code"]))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    key = holder_key()
    assert wallet.request(SD, [key]).status_code == 200
    # the same token as a Bearer token, without the DPoP proof: refused
    url = wallet.metadata["credential_endpoint"]
    bearer = server.http.post(
        url, json={}, headers={"Authorization": f"Bearer {wallet.access_token}"}
    )
    assert _error(bearer, 401) == "invalid_token"
    # a DPoP proof replayed
    assert wallet.dpop_key is not None and wallet.access_token is not None
    replayed = dpop_proof(wallet.dpop_key, "POST", url, wallet.access_token)
    headers = {"Authorization": f"DPoP {wallet.access_token}", "DPoP": replayed}
    body = {
        "credential_configuration_id": "OpenBadgeCredential_jwt_vc_json",
        "proofs": {"jwt": [proof(key, wallet.issuer, wallet.nonce())]},
    }
    assert server.http.post(url, json=body, headers=headers).status_code == 200
    again = server.http.post(url, json=body, headers=headers)
    assert _error(again, 401) == "invalid_dpop_proof"
    # a proof made by another key than the token's
    other = dpop_proof(holder_key(), "POST", url, wallet.access_token)
    headers = {"Authorization": f"DPoP {wallet.access_token}", "DPoP": other}
    assert _error(server.http.post(url, json=body, headers=headers), 401) == "invalid_dpop_proof"


def test_offer_by_reference_is_served_once(server: Server) -> None:
    made = server.offer(by_reference=True)
    assert resolve_offer(server.http, str(made["offer_uri"]))["credential_issuer"]
    uri = str(made["credential_offer_uri"])
    again = server.http.get(uri)
    assert _error(again, 404) == "invalid_request"
    assert server.http.get(uri[:-3] + "abc").status_code == 404


def test_offers_need_the_issuing_scope(server: Server) -> None:
    body = {"achievement_id": server.achievement_id, "recipient": {"email": "x@example.fi"}}
    assert server.http.post(f"/issuers/{SLUG}/offers", json=body).status_code == 401
    key = server.http.post(
        f"/issuers/{SLUG}/api-keys",
        headers=server.admin,
        json={"name": "revoker", "scopes": ["credentials:revoke"]},
    ).json()["key"]
    response = server.http.post(
        f"/issuers/{SLUG}/offers", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    bad = server.http.post(
        f"/issuers/{SLUG}/offers",
        headers=server.admin,
        json={**body, "credential_configuration_ids": ["mdoc"]},
    )
    assert bad.status_code == 422


def test_no_code_pin_or_token_in_logs_or_tables(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = server.offer(by_reference=True)
    wallet = Wallet(server.http, resolve_offer(server.http, str(made["offer_uri"])))
    assert wallet.token(str(made["tx_code"])).status_code == 200
    nonce = wallet.nonce()
    assert wallet.request(SD, [holder_key()], nonce=nonce).status_code == 200
    secrets = [wallet.code, str(made["tx_code"]), str(wallet.access_token), nonce]
    logged = caplog.text
    assert not [s for s in secrets if s in logged]
    engine = server.app.state.issuer.engine
    with engine.connect() as connection:
        for table in ("credential_offer", "oid4vci_token", "oid4vci_nonce", "oid4vci_notification"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            dumped = repr(rows)
            assert rows and not [s for s in secrets if s in dumped], table


def test_malformed_protocol_requests_get_oauth_errors_never_500(server: Server) -> None:
    wallet, made = _wallet(server)
    token_url = wallet.as_metadata["token_endpoint"]
    assert _error(server.http.post(token_url, json={"grant_type": "x"})) == "invalid_request"
    repeated = "grant_type=a&grant_type=b"
    assert (
        _error(
            server.http.post(
                token_url,
                content=repeated,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        )
        == "invalid_request"
    )
    assert _error(server.http.post(token_url, data={"grant_type": "password"})) == (
        "unsupported_grant_type"
    )
    assert wallet.token(str(made["tx_code"])).status_code == 200
    url = wallet.metadata["credential_endpoint"]
    headers = wallet.headers("credential_endpoint")
    bodies: list[dict[str, object]] = [
        {"content": b"\xff\xfe not json"},
        {"content": b"[1, 2]"},
        {"content": b"[" * 500 + b"]" * 500},
        {"json": {"credential_configuration_id": 7}},
        {"json": {"credential_configuration_id": SD, "proofs": "jwt"}},
        {"json": {"credential_configuration_id": SD, "proofs": {"jwt": ["a.b.c", 5]}}},
        {"json": {"credential_configuration_id": SD, "proofs": {"jwt": ["not-a-jwt"]}}},
        {"json": {"credential_configuration_id": SD, "proofs": {"ldp_vp": [{}]}}},
    ]
    for body in bodies:
        response = server.http.post(
            url, headers={**headers, "content-type": "application/json"}, **body
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] in (
            "invalid_credential_request",
            "invalid_proof",
        ), response.text
