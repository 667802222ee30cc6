"""Batches of several credentials, deferred issuance for batch rows not signed yet, notifications,
and the issuance API answering with an offer."""

from __future__ import annotations

import json
import threading

import pytest

from issuer import worker
from keys.jose import decode_unverified
from keys.jwk import public_key_from_jwk
from tests.openid.conftest import SLUG, Server
from tests.openid.holder import Wallet, holder_key, resolve_offer

SD = "LearningCredential_dc+sd-jwt"
JWT = "OpenBadgeCredential_jwt_vc_json"


def _cnf(sd_jwt: str) -> str:
    claims = json.loads(decode_unverified(sd_jwt.split("~")[0]).payload)
    return str(public_key_from_jwk(claims["cnf"]["jwk"]).thumbprint())


def test_batch_of_credentials_each_bound_to_its_key(server: Server) -> None:
    made = server.offer(credential_configuration_ids=[SD])
    wallet = Wallet(server.http, resolve_offer(server.http, made["offer_uri"]))
    assert wallet.token(made["tx_code"]).status_code == 200
    keys = [holder_key() for _ in range(3)]
    response = wallet.request(SD, keys)
    assert response.status_code == 200, response.text
    credentials = [c["credential"] for c in response.json()["credentials"]]
    assert [_cnf(c) for c in credentials] == [k.public_key().thumbprint() for k in keys]
    assert len(set(credentials)) == 3
    # the wallet says it kept them: the audit log records it
    notification = server.http.post(
        wallet.metadata["notification_endpoint"],
        json={
            "notification_id": response.json()["notification_id"],
            "event": "credential_accepted",
        },
        headers=wallet.headers("notification_endpoint"),
    )
    assert notification.status_code == 204, notification.text
    audit = server.http.get(f"/issuers/{SLUG}/audit", headers=server.admin).json()
    accepted = [e for e in audit if e["action"] == "offer.credential_accepted"]
    assert len(accepted) == 1 and len(accepted[0]["details"]["credentials"]) == 3
    unknown = server.http.post(
        wallet.metadata["notification_endpoint"],
        json={"notification_id": "nope", "event": "credential_accepted"},
        headers=wallet.headers("notification_endpoint"),
    )
    assert unknown.json()["error"] == "invalid_notification_id"
    bad_event = server.http.post(
        wallet.metadata["notification_endpoint"],
        json={"notification_id": response.json()["notification_id"], "event": "lost"},
        headers=wallet.headers("notification_endpoint"),
    )
    assert bad_event.json()["error"] == "invalid_notification_request"


def test_same_key_twice_in_a_batch_is_refused(server: Server) -> None:
    made = server.offer(credential_configuration_ids=[SD])
    wallet = Wallet(server.http, resolve_offer(server.http, made["offer_uri"]))
    assert wallet.token(made["tx_code"]).status_code == 200
    key = holder_key()
    assert wallet.request(SD, [key, key]).json()["error"] == "invalid_proof"
    assert wallet.request(SD, [holder_key() for _ in range(11)]).status_code == 400


def test_deferred_until_the_batch_has_signed_the_row(server: Server) -> None:
    # Hold the batch back: stop the in-process worker (SQLite); PostgreSQL runs none in tests.
    if server.app.state.batch_worker is not None:
        server.app.state.batch_worker.stop()
    achievement = server.achievement_id
    csv = "row_key,email,given_name\nS-1001,maija@example.fi,Maija\n"
    created = server.http.post(
        f"/issuers/{SLUG}/batches",
        params={"achievement_id": achievement, "formats": ["ob3-di"]},
        headers={**server.admin, "content-type": "text/csv"},
        content=csv,
    )
    assert created.status_code == 202, created.text
    made = server.offer(
        achievement_id=None,
        recipient=None,
        batch_id=created.json()["id"],
        row_key="S-1001",
        credential_configuration_ids=[SD, JWT],
    )
    wallet = Wallet(server.http, resolve_offer(server.http, made["offer_uri"]))
    assert wallet.token(made["tx_code"]).status_code == 200
    key = holder_key()
    pending = wallet.request(SD, [key])
    assert pending.status_code == 202, pending.text
    transaction_id = pending.json()["transaction_id"]
    assert pending.json()["interval"] > 0
    deferred_url = wallet.metadata["deferred_credential_endpoint"]
    still = server.http.post(
        deferred_url,
        json={"transaction_id": transaction_id},
        headers=wallet.headers("deferred_credential_endpoint"),
    )
    assert still.status_code == 202 and still.json()["transaction_id"] == transaction_id
    wrong = server.http.post(
        deferred_url,
        json={"transaction_id": "made-up"},
        headers=wallet.headers("deferred_credential_endpoint"),
    )
    assert wrong.json()["error"] == "invalid_transaction_id"
    # the batch runs
    assert worker.drain(server.app.state.issuer, stop=threading.Event()) == 1
    ready = server.http.post(
        deferred_url,
        json={"transaction_id": transaction_id},
        headers=wallet.headers("deferred_credential_endpoint"),
    )
    assert ready.status_code == 200, ready.text
    [item] = ready.json()["credentials"]
    assert _cnf(item["credential"]) == key.public_key().thumbprint()
    claims = json.loads(decode_unverified(item["credential"].split("~")[0]).payload)
    assert claims["_sd"]  # the row's award, selectively disclosable
    done = server.http.post(
        deferred_url,
        json={"transaction_id": transaction_id},
        headers=wallet.headers("deferred_credential_endpoint"),
    )
    assert done.json()["error"] == "invalid_transaction_id"
    # a configuration asked after the row is signed is issued at once
    now = wallet.request(JWT, [key])
    assert now.status_code == 200, now.text
    subject = json.loads(decode_unverified(now.json()["credentials"][0]["credential"]).payload)
    assert subject["credentialSubject"]["identifier"][0]["identityType"] == "emailAddress"


@pytest.mark.parametrize("formats", [["sd-jwt-vc", "ob3-jwt"], ["elm"]])
def test_issuance_api_answers_with_an_offer(server: Server, formats: list[str]) -> None:
    body = {
        "achievement_id": server.achievement_id,
        "recipient": {"email": "olli@example.fi"},
        "formats": formats,
    }
    response = server.http.post(
        f"/issuers/{SLUG}/credentials",
        params={"delivery": "offer"},
        headers=server.admin,
        json=body,
    )
    if formats == ["elm"]:
        assert response.status_code == 422
        assert response.json()["code"] == "unknown_format"
        return
    assert response.status_code == 201, response.text
    offer = response.json()
    assert offer["credential_offer"]["credential_configuration_ids"] == [SD, JWT]
    assert offer["offer_uri"].startswith("openid-credential-offer://")
