"""Deferred credentials resumed by the Taito wallet (OpenID4VCI 1.0 §9), over real HTTP: a batch
row not signed yet makes the issuer defer; the wallet keeps the transaction (its secrets encrypted
with the learner's data key), lists it at GET /wallet/offers/pending, answers "still pending"
until the batch has run, then stores the credential, verified, on POST
/wallet/offers/pending/{id}. Another learner cannot see or resume it; erasure removes it."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlmodel import Session

from issuer import worker
from tests.openid.conftest import SLUG, Server
from tests.openid.test_wallet_openid import FAST_HASHER, learner  # noqa: F401  (fixture)
from wallet.erasure import learner_tables

SD = "LearningCredential_dc+sd-jwt"


def _deferred_offer(server: Server) -> dict[str, str]:
    """An offer for a batch row the worker has not signed yet."""
    if server.app.state.batch_worker is not None:
        server.app.state.batch_worker.stop()
    created = server.http.post(
        f"/issuers/{SLUG}/batches",
        params={"achievement_id": server.achievement_id, "formats": ["ob3-di"]},
        headers={**server.admin, "content-type": "text/csv"},
        content="row_key,email,given_name\nS-1001,maija@example.fi,Maija\n",
    )
    assert created.status_code == 202, created.text
    return server.offer(
        achievement_id=None,
        recipient=None,
        batch_id=created.json()["id"],
        row_key="S-1001",
        credential_configuration_ids=[SD],
    )


def _accept_deferred(server: Server, headers: dict[str, str]) -> dict[str, str]:
    """The learner accepts the offer: nothing stored yet, one credential pending."""
    made = _deferred_offer(server)
    accepted = server.http.post(
        "/wallet/offers",
        json={"offer_uri": made["offer_uri"], "tx_code": made["tx_code"]},
        headers=headers,
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["credentials"] == []
    [pending] = accepted.json()["pending"]
    return dict(pending)


def _other_learner(server: Server) -> dict[str, str]:
    server.app.state.wallet.password_hasher = FAST_HASHER
    response = server.http.post(
        "/wallet/auth/register",
        json={"email": "olli@example.fi", "password": "another horse battery"},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['tokens']['access_token']}"}


def test_wallet_resumes_a_deferred_credential(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    pending = _accept_deferred(server, learner)
    assert pending["configuration"] == SD
    listed = server.http.get("/wallet/offers/pending", headers=learner)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert item["id"] == pending["id"] and item["format"] == "dc+sd-jwt"
    assert item["credential_issuer"] == server.issuer and item["expires_at"] is not None
    assert "transaction_id" not in item and "access_token" not in item
    # the access token and transaction id are kept only encrypted (AES-GCM blob, version 1)
    with server.app.state.engine.connect() as connection:
        [(secret,)] = connection.execute(text("SELECT secret FROM wallet_pending_credential"))
        assert "wallet_pending_credential" in learner_tables(connection)
    secret = bytes(secret)
    assert secret[:1] == b"\x01" and b"transaction_id" not in secret and b"ey" not in secret
    # another learner neither sees nor resumes it
    other = _other_learner(server)
    assert server.http.get("/wallet/offers/pending", headers=other).json() == []
    stranger = server.http.post(f"/wallet/offers/pending/{item['id']}", headers=other)
    assert stranger.status_code == 404 and stranger.json()["code"] == "not_found"
    # not signed yet: still pending, kept
    still = server.http.post(f"/wallet/offers/pending/{item['id']}", headers=learner)
    assert still.status_code == 200, still.text
    assert still.json()["status"] == "pending" and still.json()["credentials"] == []
    assert len(server.http.get("/wallet/offers/pending", headers=learner).json()) == 1
    # the batch runs; resuming stores the credential, verified on import
    assert worker.drain(server.app.state.issuer, stop=threading.Event()) == 1
    issued = server.http.post(f"/wallet/offers/pending/{item['id']}", headers=learner)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["status"] == "issued", body
    [credential] = body["credentials"]
    assert credential["format"] == "dc+sd-jwt" and credential["verified"] is True
    assert credential["source"] == "openid4vci"
    stored = server.http.get("/wallet/credentials", headers=learner).json()
    assert stored["total"] == 1
    assert server.http.get("/wallet/offers/pending", headers=learner).json() == []
    again = server.http.post(f"/wallet/offers/pending/{item['id']}", headers=learner)
    assert again.status_code == 404
    # the issuer heard that the wallet kept it (§11)
    audit = server.http.get(f"/issuers/{SLUG}/audit", headers=server.admin).json()
    assert any(e["action"] == "offer.credential_accepted" for e in audit)


def test_erasure_removes_pending_credentials(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    _accept_deferred(server, learner)
    with Session(server.app.state.engine) as session:
        count = session.connection().execute(text("SELECT count(*) FROM wallet_pending_credential"))
        assert count.scalar_one() == 1
    deleted = server.http.request(
        "DELETE",
        "/wallet/me",
        headers=learner,
        json={"password": "correct horse battery"},
    )
    assert deleted.status_code == 204, deleted.text
    with server.app.state.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM wallet_pending_credential"))
        assert count.scalar_one() == 0


def test_an_issuer_refusal_forgets_the_pending_credential(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    pending = _accept_deferred(server, learner)
    with server.app.state.engine.begin() as connection:  # the issuer no longer knows it
        connection.execute(
            text("UPDATE wallet_pending_credential SET deferred_endpoint = :url"),
            {"url": f"{server.issuer}/oid4vci/no-such-endpoint"},
        )
    refused = server.http.post(f"/wallet/offers/pending/{pending['id']}", headers=learner)
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert body["status"] == "failed" and body["credentials"] == []
    assert body["failed"][0]["http_status"] == 404
    assert server.http.get("/wallet/offers/pending", headers=learner).json() == []
